"""The hooks: refused answers write nothing; a broken wiring keeps nothing."""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import pytest
from cookiecutter.exceptions import FailedHookException

from .conftest import TEMPLATE, ProjectVenv, render_template

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
    ({"app_slug": "auth"}, "app_slug 'auth' is the label of Django's django.contrib"),
    ({"app_slug": "sites"}, "app_slug 'sites' is the label of Django's django.contrib"),
    ({"app_slug": "whitenoise"}, "would shadow the 'whitenoise' module"),
    ({"app_slug": "uvicorn"}, "would shadow the 'uvicorn' module"),
    ({"project_slug": "channels_redis"}, "would shadow the 'channels_redis' module"),
    ({"app_slug": "pytest"}, "would shadow the 'pytest' module"),
    ({"app_slug": "twisted"}, "would shadow the 'twisted' module"),
    ({"app_slug": "deploy"}, "would shadow the 'deploy' module"),
    ({"app_slug": "channels_devtools"}, "would shadow the 'channels_devtools' module"),
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


def test_template_given_as_a_relative_path_refuses_and_renders(tmp_path: Path) -> None:
    # The pre-gen hook reads the template's pyproject.toml: found from any cwd.
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "..", "-o"]
    refused = subprocess.run(
        [*command, str(tmp_path / "refused"), "app_slug=whitenoise"],
        cwd=TEMPLATE / "tests",
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
    assert "ERROR: app_slug 'whitenoise' would shadow" in refused.stderr
    assert not any((tmp_path / "refused").glob("*"))
    rendered = subprocess.run(
        [*command, str(tmp_path / "rendered")],
        cwd=TEMPLATE / "tests",
        capture_output=True,
        text=True,
    )
    assert rendered.returncode == 0, rendered.stderr
    assert (tmp_path / "rendered" / "my_channels_project" / "manage.py").is_file()


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
    assert "'daphne' comes after 'django.contrib.staticfiles'" in errors
    assert list(output.iterdir()) == []


def _junk(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if name in {".venv", ".git", "__pycache__"}}


def test_pre_gen_hook_reads_the_dependencies_from_pyproject_toml(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """One list: a dependency added to pyproject.toml is refused as a slug at once."""
    template = Path(shutil.copytree(TEMPLATE, tmp_path / "template", ignore=_junk))
    pyproject = template / "{{cookiecutter.project_slug}}" / "pyproject.toml"
    text = pyproject.read_text()
    assert '    "whitenoise>=6.6",\n' in text
    text = text.replace(
        '    "whitenoise>=6.6",\n',
        '    "whitenoise>=6.6",\n    "Some.Package[x]>=1",\n',
    )
    pyproject.write_text(text)
    output = tmp_path / "output"
    with pytest.raises(FailedHookException):
        render_template(template, output, app_slug="some_package")
    assert "would shadow the 'some_package' module" in capfd.readouterr().err
    assert list(output.iterdir()) == []


def load_pre_gen_hook() -> dict[str, Any]:
    """The hook's functions, rendered as cookiecutter renders it (never run as main)."""
    text = (TEMPLATE / "hooks" / "pre_gen_project.py").read_text()
    answers = {"project_slug": "p", "app_slug": "a"}
    environment = jinja2.Environment()
    environment.filters["in_template"] = lambda relative: str(TEMPLATE / relative)
    source = environment.from_string(text).render(
        cookiecutter={**answers, "author_email": ""}
    )
    namespace: dict[str, Any] = {"__name__": "pre_gen_project"}
    exec(compile(source, "pre_gen_project.py", "exec"), namespace)
    return namespace


# Run in the generated project's venv: the import names that its dependencies
# install, all the way down (what a server imports), and django.contrib's app labels.
INSTALLED_NAMES = """
import importlib.metadata as metadata, json, sys
from pathlib import Path
import django.contrib
from packaging.requirements import Requirement

def top_level(dist):
    names = (dist.read_text("top_level.txt") or "").split()
    return names or [f.parts[0].removesuffix(".py") for f in dist.files or []]

# (distribution, extras asked of it): uvicorn[standard] brings uvloop, psycopg[pool]
# brings psycopg_pool.
seen, todo, names = set(), [(sys.argv[1], frozenset())], set()
while todo:
    name, extras = todo.pop()
    dist = metadata.distribution(name)
    if (dist.name, extras) in seen:
        continue
    seen.add((dist.name, extras))
    names |= {
        name for name in top_level(dist)
        if name.isidentifier() and not name.startswith("__")  # __pycache__
    }
    for text in dist.requires or []:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": e}) for e in {"", *extras}):
            todo.append((requirement.name, frozenset(requirement.extras)))
own = set(top_level(metadata.distribution(sys.argv[1])))
labels = [
    folder.name for folder in Path(django.contrib.__file__).parent.iterdir()
    if (folder / "apps.py").is_file()
]
print(json.dumps({"imports": sorted(names - own), "labels": sorted(labels)}))
"""


@pytest.mark.parametrize("variant", ["default", "every other option"])
def test_pre_gen_hook_refuses_every_name_the_installed_project_imports(
    installed_default_project: Path,
    project_venv: ProjectVenv,
    tmp_path: Path,
    variant: str,
) -> None:
    project, name = installed_default_project, "my-channels-project"
    if variant != "default":
        project = render_template(
            TEMPLATE, tmp_path, project_slug="every_option", channel_layer="redis",
            asgi_server="uvicorn", database="postgres",
        )  # fmt: skip
        project_venv.install(project)
        name = "every-option"
    result = project_venv.run("-c", INSTALLED_NAMES, name, cwd=project)
    assert result.returncode == 0, result.stderr
    installed = json.loads(result.stdout)
    assert {"django", "twisted", "whitenoise"} <= set(installed["imports"])
    if variant != "default":
        assert {"psycopg", "psycopg_pool", "redis", "uvloop"} <= set(
            installed["imports"]
        )
    assert {"auth", "admin", "staticfiles"} <= set(installed["labels"])
    hook = load_pre_gen_hook()
    shadowed = hook["shadowed_names"]()
    accepted = [
        name
        for name in installed["imports"] + installed["labels"]
        if hook["slug_problem"]("app_slug", name, shadowed) is None
    ]
    assert accepted == [], "the pre-gen hook lets these app_slugs through"
    # The slugs of a right project still pass.
    assert (
        hook["problems"](
            {"project_slug": "my_site", "app_slug": "chat", "author_email": ""},
            shadowed,
        )
        == []
    )
