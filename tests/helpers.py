"""Helpers shared by the template tests and the benchmark: render, install, load."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from cookiecutter.main import cookiecutter
from uv import find_uv_bin

TEMPLATE = Path(__file__).resolve().parent.parent
UV = find_uv_bin()


def render_template(template: Path, output_dir: Path, **answers: str) -> Path:
    """Render with --no-input and the given answers; return the project folder."""
    return Path(
        cookiecutter(
            str(template),
            no_input=True,
            output_dir=str(output_dir),
            extra_context=answers,
        )
    )


class ProjectVenv:
    """One virtual environment that every generated project is installed into.

    uv makes and fills it (seconds instead of pip's minute per project); --seed adds
    pip and setuptools, for the tests that install the way a user without uv does.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.python = str(path / "bin" / "python")

    @classmethod
    def create(cls, path: Path, python: str = sys.executable) -> "ProjectVenv":
        uv("venv", "-q", "--seed", "--python", python, str(path), cwd=path.parent)
        return cls(path)

    def run(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run this venv's python; its bin/ comes first on PATH, as if activated."""
        environment = {**os.environ, **(env or {})}
        environment.pop("DJANGO_SETTINGS_MODULE", None)
        environment["PATH"] = f"{self.path / 'bin'}{os.pathsep}{environment['PATH']}"
        return subprocess.run(
            [self.python, *args],
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def install(self, project: Path) -> None:
        """Install the project with its dev extras; uv reuses what is there.

        --compile-bytecode, as pip does: else each server's first start compiles
        Django's modules, and on a busy machine takes past the tests' start bound.
        """
        uv(
            "pip",
            "install",
            "-q",
            "--compile-bytecode",
            "--python",
            self.python,
            "-e",
            f"{project}[dev]",
            cwd=project,
        )


def uv(*args: str, cwd: Path) -> None:
    """Run uv; fail with its output."""
    result = subprocess.run([UV, *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


def copy_project(project: Path, destination: Path) -> Path:
    return Path(shutil.copytree(project, destination / project.name))


def load_wiring(project: Path) -> ModuleType:
    """The generated checker, loaded from its file as the post-gen hook loads it."""
    path = project / "channels_devtools" / "wiring.py"
    spec = importlib.util.spec_from_file_location(f"wiring_{project.name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def load_generated_tests(project: Path) -> str:
    """Make the generated project's tests package importable; return its name.

    Template tests reuse its server and Redis helpers instead of copies of them.
    """
    # One package per project folder: copies of one project share its name.
    name = "generated_tests_" + re.sub(r"\W", "_", str(project.resolve()))
    init = project / "tests" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[str(init.parent)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return name


def python_313() -> str:
    """Python 3.13: MATRIX_PYTHON if set, else pyenv's 3.13.0."""
    if "MATRIX_PYTHON" in os.environ:
        return os.environ["MATRIX_PYTHON"]
    try:
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as error:
        raise RuntimeError(
            "The matrix test needs Python 3.13: pyenv install 3.13.0, or set "
            "MATRIX_PYTHON to a Python 3.13 interpreter."
        ) from error
    return str(Path(root) / "versions" / "3.13.0" / "bin" / "python3")
