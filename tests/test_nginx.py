"""The shipped deploy/nginx.conf, run for real in front of two server processes."""

import asyncio
import gzip
import http.client
import importlib
import json
import os
import re
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from .conftest import TEMPLATE, ProjectVenv, load_generated_tests, render_template

CLIENTS = 8
# The name the tests serve; a name nginx does not serve is refused.
HOST = "localhost"
# Test-only additions to the project: a view that shows the client address Django
# sees (REMOTE_ADDR, from the server's --proxy-headers).
PROBE_SETTINGS = """from {package}.settings import *  # noqa: F403

ROOT_URLCONF = "probe_urls"
"""
PROBE_URLS = """from django.http import HttpRequest, HttpResponse
from django.urls import path

from {package}.urls import urlpatterns as project_urls


def client_address(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.META["REMOTE_ADDR"])


urlpatterns = [path("client-address/", client_address), *project_urls]
"""


CREATE_USER = """
from django.contrib.auth import get_user_model
get_user_model().objects.get_or_create(username={username!r})
"""


def nginx_binary() -> str:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(binary, os.X_OK):
        raise RuntimeError("nginx is not installed: apt-get install nginx")
    return binary


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", f"/CN={HOST}"]
        + ["-addext", f"subjectAltName=DNS:{HOST},IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


def substitute(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


class Stack:
    """Redis, two production server processes and nginx, all on loopback."""

    def __init__(self, project: Path, venv: ProjectVenv, folder: Path) -> None:
        package = self.package = load_generated_tests(project)
        self.servers = importlib.import_module(f"{package}.servers")
        redis_module = importlib.import_module(f"{package}.redis_server")
        self.project, self.venv, self.folder = project, venv, folder
        self.redis = redis_module.RedisServer(self.servers.free_port(), folder)
        self.upstreams: list = []
        self.nginx: subprocess.Popen[bytes] | None = None
        self.manage_env: dict[str, str] = {}  # start() names the database

    def start(self) -> None:
        self.redis.start()
        os.environ["REDIS_URL"] = self.redis.url
        production = self.servers.SERVER_ENVIRONMENTS["production"]
        static = self.venv.run(
            "manage.py", "collectstatic", "--noinput", cwd=self.project, env=production
        )
        assert static.returncode == 0, static.stderr
        # One database for both upstreams and manage.py, migrated as a deploy
        # does: the chat stores every message.
        database = {"DJANGO_SQLITE_PATH": str(self.folder / "db.sqlite3")}
        self.manage_env = {**production, **database}
        migrated = self.venv.run(
            "manage.py", "migrate", "--noinput", cwd=self.project, env=self.manage_env
        )
        assert migrated.returncode == 0, migrated.stderr
        slug = self.project.name
        (self.project / "probe_settings.py").write_text(
            PROBE_SETTINGS.format(package=slug)
        )
        (self.project / "probe_urls.py").write_text(PROBE_URLS.format(package=slug))
        self.http_port = self.servers.free_port()
        self.https_port = self.servers.free_port()
        # Pages come from https://localhost:<port>, not 443: the origin a browser
        # sends names the port, so it is listed, as the README says for this case.
        origin = f"https://{HOST}:{self.https_port}"
        for n in (1, 2):
            log = self.folder / f"upstream-{n}.log"
            self.upstreams.append(
                self.servers.start_server(
                    "production",
                    log,
                    python=self.venv.python,
                    env={
                        "DJANGO_SETTINGS_MODULE": "probe_settings",
                        "DJANGO_WEBSOCKET_ALLOWED_ORIGINS": origin,
                        **database,
                    },
                )
            )
        self.start_nginx()

    def start_nginx(self) -> None:
        cert, key = self_signed_certificate(self.folder)
        self.cert = cert
        slug = self.project.name
        site = substitute(
            (self.project / "deploy" / "nginx.conf").read_text(),
            {
                "server 127.0.0.1:8000;": f"server 127.0.0.1:{self.upstreams[0].port};",
                "server 127.0.0.1:8001;": f"server 127.0.0.1:{self.upstreams[1].port};",
                "listen 80;": f"listen 127.0.0.1:{self.http_port};",
                "listen 443 ssl;": f"listen 127.0.0.1:{self.https_port} ssl;",
                "listen 80 default_server;": (
                    f"listen 127.0.0.1:{self.http_port} default_server;"
                ),
                "listen 443 ssl default_server;": (
                    f"listen 127.0.0.1:{self.https_port} ssl default_server;"
                ),
                "server_name example.com;": f"server_name {HOST};",
                "/etc/letsencrypt/live/example.com/fullchain.pem": str(cert),
                "/etc/letsencrypt/live/example.com/privkey.pem": str(key),
                f"/srv/{slug}/staticfiles/": f"{self.project}/staticfiles/",
            },
        )
        (self.folder / "site.conf").write_text(site)
        temp = self.folder / "nginx-temp"
        temp.mkdir()
        user = "user root;\n" if os.geteuid() == 0 else ""
        (self.folder / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {self.folder}/nginx.pid;\n"
            f"error_log {self.folder}/nginx-error.log;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    access_log {self.folder}/nginx-access.log;\n"
            f"    client_body_temp_path {temp}/body;\n"
            f"    proxy_temp_path {temp}/proxy;\n"
            f"    fastcgi_temp_path {temp}/fastcgi;\n"
            f"    uwsgi_temp_path {temp}/uwsgi;\n"
            f"    scgi_temp_path {temp}/scgi;\n"
            f"    include {self.folder}/site.conf;\n"
            "}\n"
        )
        log = (self.folder / "nginx.out").open("wb")
        self.nginx = subprocess.Popen(
            [nginx_binary(), "-p", str(self.folder), "-c", "nginx.conf"]
            + ["-g", "daemon off;"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.servers.wait_for_port(
            self.https_port, self.nginx, self.folder / "nginx.out"
        )

    def stop(self) -> None:
        if self.nginx is not None:
            self.servers.stop_server(self.nginx)
        for upstream in self.upstreams:
            self.servers.stop_server(upstream.process)
        self.redis.stop()
        os.environ.pop("REDIS_URL", None)

    def token(self, username: str) -> str:
        """`manage.py wstoken` against the upstreams' database and secret key."""
        for args in (
            ["manage.py", "shell", "-c", CREATE_USER.format(username=username)],
            ["manage.py", "wstoken", username],
        ):
            result = self.venv.run(*args, cwd=self.project, env=self.manage_env)
            assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.strip()

    def logs(self) -> str:
        files = [self.folder / "nginx-access.log", self.folder / "nginx-error.log"]
        files += [upstream.log for upstream in self.upstreams]
        return "\n".join(path.read_text() for path in files if path.exists())

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def wss(self, path: str) -> str:
        return f"wss://{HOST}:{self.https_port}{path}"

    def https_get(self, path: str, **headers: str) -> http.client.HTTPResponse:
        # The name, not the address: Python sends SNI only for names, and nginx
        # refuses a handshake for a name it does not serve.
        connection = http.client.HTTPSConnection(
            HOST, self.https_port, context=self.tls(), timeout=10
        )
        connection.request("GET", path, headers=headers)
        return connection.getresponse()


def running_stack(
    tmp_path_factory: pytest.TempPathFactory, venv: ProjectVenv, **answers: str
) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("project")
    project = render_template(TEMPLATE, folder, channel_layer="redis", **answers)
    venv.install(project)
    running = Stack(project, venv, tmp_path_factory.mktemp("stack"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, project_venv: ProjectVenv
) -> Iterator[Stack]:
    """The Daphne project, with the demo page."""
    yield from running_stack(tmp_path_factory, project_venv)


@pytest.fixture(scope="module")
def uvicorn_stack(
    tmp_path_factory: pytest.TempPathFactory, project_venv: ProjectVenv
) -> Iterator[Stack]:
    """The Uvicorn project: the same nginx.conf, the other production command."""
    yield from running_stack(
        tmp_path_factory, project_venv, asgi_server="uvicorn", demo_page="no"
    )


def test_a_room_through_nginx_spans_both_upstreams(stack: Stack) -> None:
    asyncio.run(chat_through(stack))
    for upstream in stack.upstreams:
        assert "WSCONNECT /ws/chat/proxied/" in upstream.log.read_text()


async def chat_message(client: ClientConnection) -> str:
    """The next chat message, past the room's presence news."""
    while True:
        content = json.loads(await asyncio.wait_for(client.recv(), 10))
        if "presence" not in content:
            return str(content["message"])


async def chat_through(stack: Stack) -> None:
    url = stack.wss("/ws/chat/proxied/")
    clients = [await connect(url, ssl=stack.tls()) for _ in range(CLIENTS)]
    try:
        # No wait needed: ChatConsumer joins its group before it accepts.
        await clients[0].send(json.dumps({"message": "through nginx"}))
        replies = await asyncio.gather(*(chat_message(client) for client in clients))
        assert replies == ["through nginx"] * CLIENTS
    finally:
        await asyncio.gather(*(client.close() for client in clients))


@pytest.mark.parametrize("path", ["/ws/sc/", "/ws/ac/"])
def test_echo_through_nginx(stack: Stack, path: str) -> None:
    async def echo() -> str:
        async with connect(stack.wss(path), ssl=stack.tls()) as websocket:
            await websocket.send("proxied echo")
            return await asyncio.wait_for(websocket.recv(), 10)

    assert asyncio.run(echo()) == "proxied echo"


def test_plain_http_is_redirected_to_https(stack: Stack) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=10)
    connection.request("GET", "/admin/", headers={"Host": HOST})
    response = connection.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == f"https://{HOST}/admin/"


def test_django_sees_https_and_the_real_host_behind_the_proxy(stack: Stack) -> None:
    response = stack.https_get("/admin/login/")
    assert response.status == 200
    # HSTS is only sent when Django believes the request is secure: that needs
    # X-Forwarded-Proto from the proxy and SECURE_PROXY_SSL_HEADER. One hour, no
    # subdomains, no preload until the environment raises it.
    assert response.getheader("Strict-Transport-Security") == "max-age=3600"


def test_static_files_are_served_by_nginx(stack: Stack) -> None:
    response = stack.https_get("/static/admin/css/base.css")
    assert response.status == 200
    assert b"body" in response.read()
    for upstream in stack.upstreams:
        assert "/static/" not in upstream.log.read_text()


def test_demo_page_over_https_talks_wss_through_nginx(stack: Stack) -> None:
    # An https:// page may only open wss:// sockets: the demo client must pick it.
    # The generated browser test's Chromium and flags, not a copy of them.
    browser_test = importlib.import_module(f"{stack.package}.test_browser")
    flags = [*browser_test.CHROMIUM_FLAGS, "--ignore-certificate-errors"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=browser_test.CHROMIUM, args=flags
        )
        try:
            page = browser.new_page(ignore_https_errors=True)
            page.goto(f"https://{HOST}:{stack.https_port}/")
            panel = page.locator('.panel[data-path="/ws/ac/"]')
            expect(panel.locator(".state")).to_have_text("open", timeout=10_000)
            panel.locator("form.send [name=message]").fill("over wss")
            panel.locator("form.send button").click()
            received = panel.locator(".log li.received").filter(has_text="over wss")
            expect(received).to_have_count(1, timeout=10_000)
            page.screenshot(path=stack.folder / "https-page.png", full_page=True)
            print(f"screenshot: {stack.folder / 'https-page.png'}")
        finally:
            browser.close()


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_forged_forwarded_for_does_not_change_the_client_address(
    request: pytest.FixtureRequest, server: str
) -> None:
    running = request.getfixturevalue(
        "stack" if server == "daphne" else f"{server}_stack"
    )
    forged = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9", "X-Real-IP": "6.6.6.6"}
    response = running.https_get("/client-address/", **forged)
    assert response.status == 200
    # nginx's own view of the client (this test, on loopback), not the header's.
    assert response.read() == b"127.0.0.1"


def test_unknown_host_header_gets_no_answer(stack: Stack) -> None:
    for port, tls in ((stack.http_port, None), (stack.https_port, stack.tls())):
        connection = (
            http.client.HTTPSConnection(HOST, port, context=tls, timeout=10)
            if tls
            else http.client.HTTPConnection(HOST, port, timeout=10)
        )
        connection.request("GET", "/admin/login/", headers={"Host": "evil.example"})
        with pytest.raises(http.client.RemoteDisconnected):
            connection.getresponse()


def test_tls_handshake_for_an_unknown_name_is_refused(stack: Stack) -> None:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    connection = http.client.HTTPSConnection(
        "127.0.0.1", stack.https_port, context=context, timeout=10
    )
    # No name at all (an address) is unknown too: only server_name is served.
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        connection.request("GET", "/")


def test_health_endpoint_through_nginx(stack: Stack) -> None:
    response = stack.https_get("/healthz")
    assert (response.status, response.read()) == (200, b"ok")


def test_only_websocket_paths_are_upgraded(stack: Stack) -> None:
    # Outside /ws/ nginx passes no upgrade headers: the request stays plain HTTP
    # and Django answers it with the page, not the WebSocket router.
    async def handshake() -> None:
        await connect(stack.wss("/admin/login/"), ssl=stack.tls())

    with pytest.raises(InvalidStatus) as answered:
        asyncio.run(handshake())
    assert answered.value.response.status_code == 200


def location_blocks(config: str) -> dict[str, str]:
    blocks = re.findall(r"\n    location ([^{]+)\{(.*?)\n    \}", config, re.S)
    return {where.strip(): body for where, body in blocks}


def test_websocket_settings_apply_only_to_websocket_paths(stack: Stack) -> None:
    blocks = location_blocks((stack.project / "deploy" / "nginx.conf").read_text())
    for directive in ["proxy_buffering off", "proxy_read_timeout", "Upgrade"]:
        holders = [where for where, body in blocks.items() if directive in body]
        assert holders == ["/ws/"], (directive, holders)


def test_only_hashed_static_files_are_cached_long(stack: Stack) -> None:
    manifest = json.loads(
        (stack.project / "staticfiles" / "staticfiles.json").read_text()
    )
    hashed = manifest["paths"]["admin/css/base.css"]
    response = stack.https_get(f"/static/{hashed}")
    assert response.status == 200 and b"body" in response.read()
    assert "immutable" in response.getheader("Cache-Control", "")
    response = stack.https_get("/static/admin/css/base.css")
    assert response.status == 200
    assert response.getheader("Cache-Control") == "public, max-age=60"


@pytest.mark.parametrize("name", ["hashed", "plain"])
def test_static_files_go_gzipped_to_clients_that_accept_it(
    stack: Stack, name: str
) -> None:
    manifest = json.loads(
        (stack.project / "staticfiles" / "staticfiles.json").read_text()
    )
    path = "admin/css/base.css"
    served = manifest["paths"][path] if name == "hashed" else path
    url = f"/static/{served}"
    plain = (stack.project / "staticfiles" / served).read_bytes()
    response = stack.https_get(url, **{"Accept-Encoding": "gzip"})
    assert response.status == 200
    # WhiteNoise's collectstatic wrote base.css.gz; nginx sends it as it is.
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Vary") == "Accept-Encoding"
    assert gzip.decompress(response.read()) == plain
    response = stack.https_get(url)
    assert response.getheader("Content-Encoding") is None
    assert response.read() == plain


@pytest.mark.parametrize("config", ["nginx.conf", "nginx.compose.conf"])
def test_both_configs_serve_gzipped_static_files(stack: Stack, config: str) -> None:
    # nginx.compose.conf runs only under Docker (test_containers.py): pin it here.
    text = (stack.project / "deploy" / config).read_text()
    static = re.findall(r"location [^\n]*/static/.*?\n    \}", text, re.DOTALL)
    assert len(static) == 2
    for block in static:
        assert "gzip_static on;" in block and "gzip_vary on;" in block


@pytest.mark.parametrize("transport", ["header", "subprotocol", "refused"])
def test_a_token_never_reaches_the_logs(stack: Stack, transport: str) -> None:
    token = stack.token("alice")
    if transport == "refused":  # tampered: the upstream logs why, not what
        token = ("B" if token[0] == "A" else "A") + token[1:]
    offered = {
        "header": {"additional_headers": {"Authorization": f"Bearer {token}"}},
        "subprotocol": {"subprotocols": ["bearer", f"bearer.{token}"]},
        "refused": {"additional_headers": {"Authorization": f"Bearer {token}"}},
    }[transport]
    url = stack.wss("/ws/notifications/")
    status = "403" if transport == "refused" else "101"
    line = re.compile(rf'"GET /ws/notifications/ HTTP/1\.1" {status} ')
    logged_before = len(line.findall(stack.logs()))

    async def handshake() -> None:
        async with connect(url, ssl=stack.tls(), **offered) as websocket:
            await websocket.send("hello")  # any frame gets an error reply
            assert "error" in json.loads(await asyncio.wait_for(websocket.recv(), 10))

    if transport == "refused":
        with pytest.raises(InvalidStatus) as refused:
            asyncio.run(handshake())
        assert refused.value.response.status_code == 403
    else:
        asyncio.run(handshake())
    # nginx writes the access line once both sides have closed: wait for it.
    deadline = time.monotonic() + 10
    while len(line.findall(stack.logs())) == logged_before:
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.05)
    assert token not in stack.logs()
