"""The README's first command, run for real from a copy of this repository."""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

from .conftest import TEMPLATE
from .test_readme import README, shell_blocks

URL = "http://127.0.0.1:8000/"
# Downloads included, on a warm cache: seconds; the bound only stops a stuck run.
DEADLINE_SECONDS = 300


def first_page(process: subprocess.Popen[bytes]) -> str | None:
    """The page at URL once it answers; None if the command ended first."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(URL, timeout=5) as response:
                return str(response.read().decode())
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    return None


def test_the_first_command_scaffolds_and_serves_the_default_project(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:
        busy = probe.connect_ex(("127.0.0.1", 8000)) == 0
    assert not busy, "port 8000 is taken: the first command serves there; free it"
    clone = Path(
        shutil.copytree(
            TEMPLATE,
            tmp_path / "clone",
            ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__"),
        )
    )
    command = shell_blocks(README)[0]
    log = tmp_path / "first-command.log"
    # Without the caller's venv, as a newcomer's shell would be.
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = os.pathsep.join(
        entry
        for entry in env["PATH"].split(os.pathsep)
        if not Path(entry, "activate").exists()
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=clone,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # runserver and its reloader: one group to stop
        )
    try:
        page = first_page(process)
        assert page is not None, log.read_text()[-3000:]
        for path in ("ws/sc/", "ws/ac/"):  # both consumers answer
            with connect(f"ws://127.0.0.1:8000/{path}", open_timeout=10) as ws:
                ws.send("hello")
                assert ws.recv(timeout=10) == "hello"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the group this test started
        process.wait(timeout=30)
    assert "<h1>WebSockets, live</h1>" in page

    # The project keeps its own environment: it runs with the clone gone.
    shutil.rmtree(clone)
    project = tmp_path / "my_channels_project"
    check = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "manage.py", "check"],
        cwd=project,
        env={**env, "DJANGO_DEBUG": "1"},
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    # And so do its README's `uv pip` commands, in any terminal: uv is in .venv.
    uv = subprocess.run(
        [str(project / ".venv" / "bin" / "uv"), "--version"], capture_output=True
    )
    assert uv.returncode == 0, uv.stderr
