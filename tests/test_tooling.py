"""What a Django developer expects around the code: lint, types, hooks, CI, replay."""

import json
import re
import subprocess
from pathlib import Path

import yaml
from cookiecutter.main import cookiecutter

from .conftest import TEMPLATE, ProjectVenv, Render, copy_project


def readme_commands(project: Path) -> list[str]:
    readme = (project / "README.md").read_text()
    return re.findall(r"```bash\n(.*?)\n```", readme, re.S)


def test_lint_and_type_check_pass(
    installed_default_project: Path, project_venv: ProjectVenv
) -> None:
    for command in (
        ["-m", "ruff", "check", "."],
        ["-m", "ruff", "format", "--check", "."],
        ["-m", "mypy", "."],
    ):
        # mypy imports the settings: development ones, as the README's command asks.
        result = project_venv.run(
            *command, cwd=installed_default_project, env={"DJANGO_DEBUG": "1"}
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_passes_offline(
    installed_default_project: Path, project_venv: ProjectVenv, tmp_path: Path
) -> None:
    project = copy_project(installed_default_project, tmp_path)
    for git in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *git], cwd=project, check=True)
    result = project_venv.run(
        "-m",
        "pre_commit",
        "run",
        "--all-files",
        cwd=project,
        env={"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout and "Failed" not in result.stdout


def test_workflow_is_valid_and_runs_the_readme_commands(default_project: Path) -> None:
    workflow = yaml.safe_load(
        (default_project / ".github" / "workflows" / "ci.yml").read_text()
    )
    job = workflow["jobs"]["test"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.11", "3.13"]
    runs = [step["run"] for step in job["steps"] if "run" in step]
    commands = readme_commands(default_project)
    lint, test = runs[-2:]
    assert lint in commands and test in commands


def test_redis_workflow_installs_redis(render: Render) -> None:
    project = render(channel_layer="redis")
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    runs = " ".join(s.get("run", "") for s in workflow["jobs"]["test"]["steps"])
    assert "apt-get install -y redis-server" in runs


def test_replay_renders_the_same_answers_again(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\n"
        f"replay_dir: {tmp_path / 'replay'}\n"
    )
    first = cookiecutter(
        str(TEMPLATE),
        no_input=True,
        output_dir=str(tmp_path / "first"),
        config_file=str(config),
        extra_context={"project_name": "Replayed", "channel_layer": "redis"},
    )
    again = cookiecutter(
        str(TEMPLATE),
        replay=True,
        output_dir=str(tmp_path / "again"),
        config_file=str(config),
    )
    assert Path(again).name == Path(first).name == "replayed"
    replay = json.loads((tmp_path / "replay" / f"{TEMPLATE.name}.json").read_text())
    assert replay["cookiecutter"]["channel_layer"] == "redis"
    for relative in ["pyproject.toml", "replayed/asgi.py", "realtime/consumers.py"]:
        assert (Path(first) / relative).read_text() == (
            Path(again) / relative
        ).read_text()
