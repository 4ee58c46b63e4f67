"""The README's commands are the ones CI runs and a newcomer types."""

import json
import re
import subprocess
import sys
from pathlib import Path

from .conftest import TEMPLATE, ruff

README = (TEMPLATE / "README.md").read_text()


def shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)\n```", markdown, re.S)


def test_ci_runs_the_readme_test_command() -> None:
    test_command = shell_blocks(README)[1]
    ci_script = (TEMPLATE / ".ci" / "run").read_text()
    assert test_command in ci_script.splitlines()


def test_readme_lists_every_option() -> None:
    options = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    for option in options:
        if not option.startswith("_"):
            assert f"`{option}`" in README, option


def test_this_repository_passes_ruff() -> None:
    for args in (["check", "."], ["format", "--check", "."]):
        result = ruff(*args, cwd=TEMPLATE)
        assert result.returncode == 0, result.stdout


def test_scaffold_command_ends_with_the_projects_own_run_command() -> None:
    # One environment per project: the generated README's "Run it" makes it, and the
    # template's first command is cookiecutter followed by exactly that command.
    scaffold = shell_blocks(README)[0]
    project_readme = (
        TEMPLATE / "{{cookiecutter.project_slug}}" / "README.md"
    ).read_text()
    run_it = shell_blocks(project_readme)[0]
    assert scaffold.endswith(f"cd ../my_channels_project && {run_it}")
    assert run_it.startswith("uv venv && . .venv/bin/activate && uv pip install")
    # The plain-pip form stays documented for people who cannot use uv.
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install -e ." in (
        project_readme
    )


def test_generated_readme_explains_tokens_revoked_by_a_rehash() -> None:
    text = (TEMPLATE / "{{cookiecutter.project_slug}}" / "README.md").read_text()
    prose = " ".join(text.split())
    assert "when Django re-hashes an unchanged password at log-in" in prose
    assert 'refused with "the password hash changed"' in prose


def test_readme_shows_answers_as_key_value_pairs() -> None:
    text = " ".join(README.split())
    assert "`key=value` pairs (cookiecutter's extra context)" in text
    commands = [line for block in shell_blocks(README) for line in block.splitlines()]
    assert any(
        "cookiecutter --no-input . -o .. channel_layer=redis" in line
        for line in commands
    )


def test_readme_quotes_what_a_second_render_into_the_same_folder_says(
    tmp_path: Path,
) -> None:
    cookiecutter = [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE)]
    work = tmp_path / "work"
    work.mkdir()
    first, second = (
        subprocess.run(
            [*cookiecutter, "-o", ".."], cwd=work, capture_output=True, text=True
        )
        for _ in range(2)
    )
    assert first.returncode == 0, first.stdout + first.stderr
    result = second
    assert result.returncode == 1
    said = result.stdout.strip().splitlines()[-1]  # cookiecutter prints to stdout
    assert said == 'Error: "../my_channels_project" directory already exists'
    assert f"stops with `{said}`" in " ".join(README.split())
    assert "`--overwrite-if-exists` (`-f`)" in README


def test_generated_readme_says_compose_on_another_port_needs_its_origin() -> None:
    text = (TEMPLATE / "{{cookiecutter.project_slug}}" / "README.md").read_text()
    prose = " ".join(text.split())
    assert (
        "On a port other than 443, add "
        "`DJANGO_WEBSOCKET_ALLOWED_ORIGINS=https://localhost:8443` to `.env`"
    ) in prose
