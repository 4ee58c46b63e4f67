"""The Docker image and the compose stack, built and run for real.

Run with `pytest --containers` (needs Docker and Compose; plain `pytest` leaves these
out, they take minutes). PYTHON_IMAGE, {% if cookiecutter.channel_layer == "redis" %}REDIS_IMAGE, {% endif %}{% if cookiecutter.database == "postgres" %}POSTGRES_IMAGE, {% endif %}NGINX_IMAGE and
PIP_OPTIONS substitute base images and the package index, as in compose.yaml; COMPOSE
names the Compose command (default `docker compose`).
"""

import asyncio
import http.client
{%- if cookiecutter.channel_layer == "redis" and cookiecutter.database == "postgres" %}
import json
{%- endif %}
import os
import shlex
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

{% if cookiecutter.channel_layer == "redis" and cookiecutter.database == "postgres" -%}
from .rooms import next_in_room
{% endif -%}
from .servers import BASE_DIR, free_port

TAG = "{{ cookiecutter.project_slug.replace('_', '-') }}-test"
PROJECT = f"{{ cookiecutter.project_slug.replace('_', '') }}test{os.getpid()}"
BUILD_ARGS = ["PYTHON_IMAGE", "PIP_OPTIONS"]
COPY_IGNORE = shutil.ignore_patterns(".venv", "venv", "__pycache__", "*.sqlite3")


def run(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
) -> str:
    result = subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, f"{shlex.join(args)}:\n{result.stderr[-3000:]}"
    return result.stdout


def compose_command() -> list[str]:
    return shlex.split(os.environ.get("COMPOSE", "docker compose"))


@pytest.fixture(scope="session")
def image() -> Iterator[str]:
    build_args = [
        arg
        for name in BUILD_ARGS
        if name in os.environ
        for arg in ("--build-arg", f"{name}={os.environ[name]}")
    ]
    # Host networking lets PIP_OPTIONS name an index or wheelhouse on 127.0.0.1.
    run("docker", "build", "--network", "host", "-t", TAG, *build_args, str(BASE_DIR))
    yield TAG
    subprocess.run(["docker", "rmi", "-f", TAG], capture_output=True)


def test_image_runs_as_a_non_root_user(image: str) -> None:
    assert run("docker", "run", "--rm", image, "id", "-u").strip() != "0"


def test_image_health_check_passes(image: str) -> None:
    container = run(
        "docker", "run", "--detach", "--health-interval", "1s",
        "-e", "DJANGO_SECRET_KEY=container-test", "-e", "DJANGO_ALLOWED_HOSTS=x",
{%- if cookiecutter.database == "postgres" %}
        # Production settings need one; liveness (/healthz) never connects to it.
        "-e", "DATABASE_URL=postgres://nobody@unreachable/none",
{%- endif %}
        image,
    ).strip()  # fmt: skip
    try:
        status = wait_for(lambda: health(container) == "healthy", 90)
        assert status, f"health: {health(container)}\n{logs(container)}"
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)


def health(container: str) -> str:
    return run(
        "docker", "inspect", "--format", "{% raw %}{{.State.Health.Status}}{% endraw %}", container
    ).strip()


def logs(container: str) -> str:
    result = subprocess.run(["docker", "logs", container], capture_output=True)
    return (result.stdout + result.stderr).decode()[-3000:]


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def readme_container_commands() -> list[str]:
    """The Containers section's set-up lines, which the stack test runs verbatim."""
    section = (BASE_DIR / "README.md").read_text().split("## Containers", 1)[1]
    block = section.split("```bash\n", 1)[1].split("\n```", 1)[0]
    return [line for line in block.splitlines() if not line.startswith("docker")]


class Stack:
    """compose.yaml, brought up from a copy of the project on published ports."""

    def __init__(self, folder: Path, image: str) -> None:
        self.folder = Path(shutil.copytree(BASE_DIR, folder, ignore=COPY_IGNORE))
        self.http_port, self.https_port = free_port(), free_port()
        self.env = {
            "WEB_IMAGE": image,
            "HTTP_PORT": str(self.http_port),
            "HTTPS_PORT": str(self.https_port),
        }

    def compose(self, *args: str) -> str:
        command = [*compose_command(), "-p", PROJECT, "-f", "compose.yaml"]
        return run(*command, *args, env=self.env, cwd=self.folder)

    def up(self) -> None:
        for line in readme_container_commands():
            made = subprocess.run(
                ["bash", "-c", line], cwd=self.folder, capture_output=True, text=True
            )
            assert made.returncode == 0, f"{line}\n{made.stderr[-2000:]}"
        # compose starts nginx once every web replica passes its health check.
        self.compose("up", "--detach", "--no-build")
        assert wait_for(self.healthy, 60), self.compose("logs", "--tail", "50")

    def healthy(self) -> bool:
        try:
            return self.get("/healthz").status == 200
        except OSError:
            return False

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(
            cafile=str(self.folder / "deploy" / "certs" / "cert.pem")
        )

    def get(self, path: str) -> http.client.HTTPResponse:
        connection = http.client.HTTPSConnection(
            "localhost", self.https_port, context=self.tls(), timeout=10
        )
        connection.request("GET", path)
        return connection.getresponse()

    def wss(self, path: str) -> str:
        return f"wss://localhost:{self.https_port}{path}"

    def web_containers(self) -> list[str]:
        return self.compose("ps", "-q", "web").split()

    def nginx_upstreams(self) -> set[str]:
        log = self.compose("logs", "--no-color", "nginx")
        return {
            word.removeprefix("upstream=")
            for word in log.split()
            if word.startswith("upstream=") and word != "upstream=-"
        }


@pytest.fixture(scope="module")
def stack(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("stack") / "project", image)
    try:
        running.up()
        yield running
    finally:
        subprocess.run(
            [*compose_command(), "-p", PROJECT, "-f", "compose.yaml", "down", "-v"],
            cwd=running.folder,
            env={**os.environ, **running.env},
            capture_output=True,
        )


async def echo(stack: Stack, path: str, text: str) -> str:
    async with connect(stack.wss(path), ssl=stack.tls()) as websocket:
        await websocket.send(text)
        return str(await asyncio.wait_for(websocket.recv(), 10))
{%- if cookiecutter.demo_page == "yes" %}


def test_compose_serves_the_demo_page_through_nginx(stack: Stack) -> None:
    response = stack.get("/")
    assert response.status == 200
    assert b"/ws/ac/" in response.read()
{%- endif %}


@pytest.mark.parametrize("path", ["/ws/sc/", "/ws/ac/"])
def test_compose_serves_both_echo_consumers_through_nginx(
    stack: Stack, path: str
) -> None:
    assert asyncio.run(echo(stack, path, "through compose")) == "through compose"


def test_nginx_serves_the_static_files(stack: Stack) -> None:
    response = stack.get("/static/admin/css/base.css")
    assert response.status == 200
    assert b"body" in response.read()
{%- if cookiecutter.database == "postgres" %}


def test_the_web_replicas_keep_their_data_in_the_postgres_service(
    stack: Stack,
) -> None:
{%- if cookiecutter.channel_layer == "redis" %}
    first, second = stack.web_containers()
{%- else %}
    (first,) = stack.web_containers()
{%- endif %}
    run(
        "docker", "exec", first, "python", "manage.py", "createsuperuser",
        "--noinput", "--username", "compose", "--email", "compose@example.com",
    )  # fmt: skip
{%- if cookiecutter.channel_layer == "redis" %}
    # wstoken looks the user up: the other replica finds it on the same database.
    run("docker", "exec", second, "python", "manage.py", "wstoken", "compose")
{%- endif %}
    # And the database is the postgres service's, not one inside the web image.
    users = stack.compose(
        "exec", "-T", "postgres", "psql", "--username", "postgres",
        "--dbname", "{{ cookiecutter.project_slug }}", "--tuples-only", "--no-align",
        "--command", "SELECT username FROM auth_user",
    )  # fmt: skip
    assert users.split() == ["compose"]
{%- endif %}
{%- if cookiecutter.channel_layer == "redis" and cookiecutter.database == "postgres" %}


def test_a_chat_room_spans_both_web_replicas(stack: Stack) -> None:
    first, second = stack.web_containers()
    # Chat wants a logged-in user in production (DJANGO_CHAT_LOGIN_REQUIRED):
    # one made on a replica, with a token from the other, as a script would.
    run(
        "docker", "exec", first, "python", "manage.py", "createsuperuser",
        "--noinput", "--username", "chatter", "--email", "chatter@example.com",
    )  # fmt: skip
    token = run("docker", "exec", second, "python", "manage.py", "wstoken", "chatter")
    login = {"Authorization": f"Bearer {token.strip()}"}

    async def chat() -> list[str]:
        url = stack.wss("/ws/chat/compose/")
        clients = [
            await connect(url, ssl=stack.tls(), additional_headers=login)
            for _ in range(8)
        ]
        try:
            await clients[0].send(json.dumps({"message": "across replicas"}))
            return [(await next_in_room(client))["message"] for client in clients]
        finally:
            await asyncio.gather(*(client.close() for client in clients))

    assert asyncio.run(chat()) == ["across replicas"] * 8
    # nginx logs the replica of each request: the room's clients landed on both.
    assert len(stack.nginx_upstreams()) == 2, stack.nginx_upstreams()


def test_stopping_one_web_replica_leaves_the_other_serving(stack: Stack) -> None:
    first, second = stack.web_containers()
    run("docker", "stop", first)
    for n in range(6):  # round robin: some would go to the stopped replica
        assert asyncio.run(echo(stack, "/ws/ac/", f"still {n}")) == f"still {n}"
    run("docker", "start", first)
{%- endif %}


def test_compose_stop_hands_each_socket_over_with_a_close_frame(stack: Stack) -> None:
    async def code_seen_while_stopping() -> int | None:
        async with connect(stack.wss("/ws/ac/"), ssl=stack.tls()) as websocket:
            await websocket.send("open")
            assert await asyncio.wait_for(websocket.recv(), 10) == "open"
            # SIGTERM to every web replica, through nginx: 1001 from Daphne
            # ({{ cookiecutter.project_slug }}/serve.py), 1012 from Uvicorn.
            stop = asyncio.to_thread(stack.compose, "stop", "web")
            stopping = asyncio.create_task(stop)
            try:
                await asyncio.wait_for(websocket.recv(), 10)
                code = None
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
            await stopping
            return code

    assert asyncio.run(code_seen_while_stopping()) in {1001, 1012}
    stack.compose("start", "web")
    assert wait_for(stack.healthy, 60), stack.compose("logs", "--tail", "50")


def test_compose_down_leaves_no_container_running(stack: Stack) -> None:
    stack.compose("down", "--volumes")
    label = f"label=com.docker.compose.project={PROJECT}"
    assert run("docker", "ps", "--all", "--quiet", "--filter", label).split() == []
