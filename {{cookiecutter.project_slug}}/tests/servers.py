"""The project's real server, started as a subprocess on a free port."""

import contextlib
import functools
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# The production command of README.md, run by the tests exactly as documented.
PRODUCTION_COMMAND = (
{%- if cookiecutter.asgi_server == "uvicorn" %}
    "uvicorn {{ cookiecutter.project_slug }}.asgi:application --host 127.0.0.1 "
    "--port {port} --backlog 1024 --proxy-headers --lifespan off "
    "--ws websockets-sansio "
    "--ws-max-size 65536 --ws-per-message-deflate false --no-access-log "
    "--timeout-graceful-shutdown 5"
{%- else %}
    "{{ cookiecutter.project_slug }}.serve "
    "-e tcp:port={port}:interface=127.0.0.1:backlog=1024 --proxy-headers "
    "--websocket_connect_timeout 20 "
    "--websocket-max-message-size 65536 --websocket-max-frame-size 65536 "
    "{{ cookiecutter.project_slug }}.asgi:application"
{%- endif %}
)
# The limit that both commands apply (settings.DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE).
MAX_MESSAGE_SIZE = 65536
{%- if cookiecutter.asgi_server == "daphne" %}
# Daphne refuses a handshake not accepted within this many seconds (the command's
# --websocket_connect_timeout; README.md says why 20).
HANDSHAKE_TIMEOUT = 20
{%- endif %}

SERVER_COMMANDS = {
    # What `python manage.py runserver` starts: Daphne's, because daphne is first.
    "runserver": "manage.py runserver --noreload 127.0.0.1:{port}",
    # The production server, loading asgi.py cold as in deployment.
    "production": "-m " + PRODUCTION_COMMAND,
}
# Production sets no DJANGO_DEBUG at all: production must be what a server gets when
# nobody asks for debug (start_server drops any DJANGO_DEBUG it inherits).
SERVER_ENVIRONMENTS = {
    "runserver": {"DJANGO_DEBUG": "1"},
    "production": {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The tests chat anonymously; test_limits checks production's default.
        "DJANGO_CHAT_LOGIN_REQUIRED": "0",
    },
}


@dataclass
class Server:
    kind: str
    port: int
    url: str
    log: Path
    process: subprocess.Popen[bytes]
    # What the server wrote until it listened: its import and startup messages.
    startup_log: str = ""


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


def server_environment(kind: str, **extra: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"}
    return {**inherited, "PYTHONUNBUFFERED": "1", **SERVER_ENVIRONMENTS[kind], **extra}


@functools.cache
def collect_static(python: str = sys.executable) -> None:
    """What a deploy runs before the production server: hashed static files.

    Once per test session: the static sources do not change while the tests run,
    and a session starts many production servers.
    """
    subprocess.run(
        [python, "manage.py", "collectstatic", "--noinput"],
        cwd=BASE_DIR,
        env=server_environment("production"),
        check=True,
        capture_output=True,
    )


def start_server(
    kind: str,
    log: Path,
    python: str = sys.executable,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> Server:
    port = port or free_port()
    args = SERVER_COMMANDS[kind].format(port=port).split()
    env = dict(env or {})
    if kind == "production":
        collect_static(python)  # a manifest left by an earlier run may be stale
        # Production allows https://<host> origins, what pages behind the TLS proxy
        # send; the tests' pages come straight from the server, over plain http.
        own = f"http://127.0.0.1:{port}"
        listed = env.get("DJANGO_WEBSOCKET_ALLOWED_ORIGINS")
        env["DJANGO_WEBSOCKET_ALLOWED_ORIGINS"] = f"{own},{listed}" if listed else own
    with log.open("wb") as out:
        process = subprocess.Popen(
            [python, *args],
            cwd=BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=server_environment(kind, **env),
        )
    try:
        wait_for_port(port, process, log)
    except BaseException:
        stop_server(process)
        raise
    url = f"ws://127.0.0.1:{port}"
    return Server(kind, port, url, log, process, log.read_text())


@contextlib.contextmanager
def running_server(
    kind: str, log: Path, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """start_server, and stop_server however the block ends: for fixtures."""
    server = start_server(kind, log, env=env)
    try:
        yield server
    finally:
        stop_server(server.process)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
