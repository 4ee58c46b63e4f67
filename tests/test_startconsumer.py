"""manage.py startconsumer as a new user runs it: new consumers that really answer."""

import asyncio
import importlib
import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from .conftest import ProjectVenv, copy_project, load_generated_tests

KINDS = {
    "sync": ("hello", "hello"),
    "async": ("hello", "hello"),
    "json": (json.dumps({"score": 3}), {"score": 3}),
}


@pytest.fixture(scope="module")
def project_with_new_consumers(
    installed_default_project: Path,
    project_venv: ProjectVenv,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    project = copy_project(installed_default_project, tmp_path_factory.mktemp("new"))
    for kind in KINDS:
        result = project_venv.run(
            "manage.py", "startconsumer", f"{kind}_scores", f"--{kind}", cwd=project
        )
        assert result.returncode == 0, result.stderr
        assert f"ws/{kind}_scores/" in result.stdout
    return project


def test_new_consumers_pass_every_check_and_their_tests(
    project_with_new_consumers: Path, project_venv: ProjectVenv
) -> None:
    project = project_with_new_consumers
    for command in (
        ["manage.py", "check", "--fail-level", "WARNING"],
        ["-m", "ruff", "check", "."],
        ["-m", "ruff", "format", "--check", "."],
        ["-m", "mypy", "."],
        ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + [f"tests/test_{kind}_scores_consumer.py" for kind in KINDS],
    ):
        # mypy imports the settings: development ones, as the README's command asks.
        result = project_venv.run(*command, cwd=project, env={"DJANGO_DEBUG": "1"})
        assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_new_consumers_answer_a_real_client(
    project_with_new_consumers: Path, project_venv: ProjectVenv, tmp_path: Path
) -> None:
    servers = importlib.import_module(
        f"{load_generated_tests(project_with_new_consumers)}.servers"
    )
    server = servers.start_server(
        "production", tmp_path / "server.log", python=project_venv.python
    )

    async def exchange(kind: str) -> object:
        sent, _ = KINDS[kind]
        async with connect(f"{server.url}/ws/{kind}_scores/") as websocket:
            await websocket.send(sent)
            reply = await asyncio.wait_for(websocket.recv(), 10)
        return json.loads(reply) if kind == "json" else reply

    try:
        for kind, (_, expected) in KINDS.items():
            assert asyncio.run(exchange(kind)) == expected
    finally:
        servers.stop_server(server.process)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("sync_scores", "SyncScoresConsumer already exists in realtime/consumers.py"),
        ("Bad-Name", "'Bad-Name' is not a consumer name"),
        ("class", "'class' is not a consumer name"),
    ],
)
def test_startconsumer_refuses_with_one_clear_line(
    project_with_new_consumers: Path,
    project_venv: ProjectVenv,
    name: str,
    message: str,
) -> None:
    consumers = project_with_new_consumers / "realtime" / "consumers.py"
    before = consumers.read_text()
    result = project_venv.run(
        "manage.py", "startconsumer", name, cwd=project_with_new_consumers
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"CommandError: {message}")
    assert consumers.read_text() == before
