"""The default project on Python 3.13 and the newest Django (3.11 runs elsewhere)."""

import re
from pathlib import Path

import pytest

from .conftest import ProjectVenv, copy_project
from .helpers import python_313


def test_default_project_passes_on_python_313_with_the_newest_django(
    installed_default_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    venv = ProjectVenv.create(tmp_path_factory.mktemp("venv-313"), python_313())
    project = copy_project(installed_default_project, tmp_path_factory.mktemp("313"))
    venv.install(project)
    versions = venv.run(
        "-c",
        "import sys, django; print(sys.version_info[:2], django.VERSION[0])",
        cwd=project,
    )
    print(f"Python 3.13 matrix: (python, django major) = {versions.stdout.strip()}")
    assert versions.stdout.strip() == "(3, 13) 6"
    tests = venv.run("-m", "pytest", "-p", "no:cacheprovider", cwd=project)
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-2000:]
    summary = tests.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), summary
    assert not re.search(r"failed|error|skipped", summary), summary
    lint = venv.run("-m", "mypy", ".", cwd=project, env={"DJANGO_DEBUG": "1"})
    assert lint.returncode == 0, lint.stdout
