"""Render the template into tmp_path and run what comes out in one shared venv."""

from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import (  # noqa: F401  (re-exported for the test modules)
    TEMPLATE,
    ProjectVenv,
    copy_project,
    load_generated_tests,
    load_wiring,
    python_313,
    render_template,
    ruff,
)

Render = Callable[..., Path]


@pytest.fixture
def render(tmp_path: Path) -> Render:
    return lambda **answers: render_template(TEMPLATE, tmp_path, **answers)


@pytest.fixture(scope="session")
def project_venv(tmp_path_factory: pytest.TempPathFactory) -> ProjectVenv:
    return ProjectVenv.create(tmp_path_factory.mktemp("project-venv"))


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default project, rendered once; tests that edit it copy it first."""
    return render_template(TEMPLATE, tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="session")
def installed_default_project(default_project: Path, project_venv: ProjectVenv) -> Path:
    """The default project, installed: its dependencies serve edited copies too."""
    project_venv.install(default_project)
    return default_project


@pytest.fixture(scope="session")
def project_venv_313(tmp_path_factory: pytest.TempPathFactory) -> ProjectVenv:
    """A second shared environment, on Python 3.13 (see helpers.python_313)."""
    return ProjectVenv.create(tmp_path_factory.mktemp("venv-313"), python_313())
