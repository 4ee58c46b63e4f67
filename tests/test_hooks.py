"""The hooks: refused answers write nothing; a broken wiring keeps nothing."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException

from .conftest import TEMPLATE, render_template

REFUSED_ANSWERS = [
    ({"project_slug": "my-project"}, "'my-project' is not a valid Python identifier"),
    ({"project_name": "2048"}, "project_slug '2048' is not a valid Python identifier"),
    (
        {"app_slug": "caf\u00e9"},
        "app_slug 'caf\u00e9' is not a valid Python identifier",
    ),
    ({"project_slug": "class"}, "project_slug 'class' is a Python keyword"),
    ({"app_slug": "match"}, "app_slug 'match' is a Python keyword"),
    ({"app_slug": "channels"}, "would shadow the 'channels' module"),
    ({"project_slug": "django"}, "would shadow the 'django' module"),
    ({"app_slug": "daphne"}, "would shadow the 'daphne' module"),
    ({"app_slug": "asgiref"}, "would shadow the 'asgiref' module"),
    ({"app_slug": "redis"}, "would shadow the 'redis' module"),
    ({"project_slug": "test"}, "would shadow the 'test' module"),
    ({"project_slug": "json"}, "would shadow the 'json' module"),
    ({"app_slug": "asyncio"}, "would shadow the 'asyncio' module"),
    ({"app_slug": "my_channels_project"}, "project_slug and app_slug are both"),
    ({"app_slug": "a" * 31}, "is longer than 30 characters"),
    ({"author_email": "not-an-email"}, "author_email 'not-an-email' is not an email"),
]


@pytest.mark.parametrize(
    ("answers", "message"), REFUSED_ANSWERS, ids=[m for _, m in REFUSED_ANSWERS]
)
def test_pre_gen_hook_refuses_bad_answers(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], answers: dict, message: str
) -> None:
    with pytest.raises(FailedHookException):
        render_template(TEMPLATE, tmp_path, **answers)
    errors = capfd.readouterr().err
    assert message in errors
    assert "Traceback" not in errors
    assert list(tmp_path.iterdir()) == []


def test_refusal_on_the_command_line_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE)]
        + ["-o", str(tmp_path), "project_slug=class"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    # cookiecutter logs its own FailedHookException traceback; ours is the line.
    assert "ERROR: project_slug 'class' is a Python keyword" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_name_without_letters_falls_back_to_the_default_slug(tmp_path: Path) -> None:
    project = render_template(TEMPLATE, tmp_path, project_name="!!!")
    assert project.name == "my_channels_project"


def test_post_gen_hook_refuses_a_template_with_broken_wiring(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    template = Path(shutil.copytree(TEMPLATE, tmp_path / "template", ignore=_junk))
    settings = template / "{{cookiecutter.project_slug}}"
    settings = settings / "{{cookiecutter.project_slug}}" / "settings.py"
    text = settings.read_text()
    # Plant the classic mistake: daphne after staticfiles.
    text = text.replace('    "daphne",\n', "", 1)
    text = text.replace(
        '"django.contrib.staticfiles",\n',
        '"django.contrib.staticfiles",\n    "daphne",\n',
    )
    settings.write_text(text)
    output = tmp_path / "output"
    with pytest.raises(FailedHookException):
        render_template(template, output)
    errors = capfd.readouterr().err
    assert "channels_template.E002" in errors
    assert "after 'django.contrib.admin'" in errors
    assert "django.contrib.staticfiles" in errors
    assert list(output.iterdir()) == []


def _junk(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if name in {".venv", ".git", "__pycache__"}}
