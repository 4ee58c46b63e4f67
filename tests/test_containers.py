"""The generated Dockerfile and compose.yaml, built and run for real.

Each project runs its own `pytest --containers` against a dockerd of this session,
stand-in base images and a wheelhouse (see containers.py for why and what they are).
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import TEMPLATE, ProjectVenv, render_template
from .containers import DockerDaemon, build_base_images, build_wheelhouse, served
from .helpers import python_313

# The default project, and every other value of the options the stack depends on.
COMBINATIONS = [
    {},
    # Two web replicas: compose.yaml runs them only on Redis and PostgreSQL.
    {
        "channel_layer": "redis",
        "asgi_server": "uvicorn",
        "demo_page": "no",
        "database": "postgres",
    },
]


@pytest.fixture(scope="module")
def docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerDaemon]:
    # A short path: dockerd's sockets must fit in 108 bytes.
    daemon = DockerDaemon(Path(tmp_path_factory.mktemp("dockerd")))
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return [
        render_template(TEMPLATE, tmp_path_factory.mktemp("containers"), **answers)
        for answers in COMBINATIONS
    ]


@pytest.fixture(scope="module")
def substitutes(
    docker: DockerDaemon, projects: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    folder = tmp_path_factory.mktemp("substitutes")
    images = build_base_images(docker, folder)
    # Python 3.13 like the stand-in (and the Dockerfile's default): the wheels and
    # the environment markers pip evaluates must match the image's interpreter.
    wheels = build_wheelhouse(projects, folder, python_313())
    with served(wheels) as url:
        yield {
            **docker.env,
            "PYTHON_IMAGE": images["python"],
            "REDIS_IMAGE": images["redis"],
            "POSTGRES_IMAGE": images["postgres"],
            "NGINX_IMAGE": images["nginx"],
            "PIP_OPTIONS": f"--no-index --find-links {url}",
            "COMPOSE": "docker-compose --compatibility",  # Debian's Compose v1
        }


@pytest.mark.parametrize(
    "index", range(len(COMBINATIONS)), ids=["default", "redis-postgres"]
)
def test_generated_image_and_compose_stack_pass_their_container_tests(
    projects: list[Path],
    substitutes: dict[str, str],
    project_venv: ProjectVenv,
    index: int,
) -> None:
    project = projects[index]
    project_venv.install(project)
    tests = project_venv.run(
        "-m", "pytest", "-p", "no:cacheprovider", "-rfE", "--containers",
        "tests/test_containers.py",
        cwd=project,
        env=substitutes,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout[-5000:]
    summary = tests.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), summary
    assert not re.search(r"failed|error|skipped|deselected", summary), summary
