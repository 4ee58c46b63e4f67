"""Fixtures: the project's real server, started as a subprocess on a free port."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

SERVER_COMMANDS = {
    # What `python manage.py runserver` starts: Daphne's, because daphne is first.
    "runserver": ["manage.py", "runserver", "--noreload", "127.0.0.1:{port}"],
    # The production server, loading asgi.py cold as in deployment.
    "daphne": [
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        "{port}",
        "{{ cookiecutter.project_slug }}.asgi:application",
    ],
}


@dataclass
class Server:
    kind: str
    url: str
    log: Path
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"server did not listen on {port} in 30 s:\n{log.read_text()}")


def start_server(kind: str, log: Path, **env: str) -> Server:
    port = free_port()
    args = [arg.format(port=port) for arg in SERVER_COMMANDS[kind]]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        )
    try:
        wait_for_port(port, process, log)
    except BaseException:
        stop_server(process)
        raise
    return Server(kind, f"ws://127.0.0.1:{port}", log, process)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session", params=list(SERVER_COMMANDS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    log = tmp_path_factory.mktemp(request.param) / "server.log"
    running = start_server(request.param, log)
    try:
        yield running
    finally:
        stop_server(running.process)
