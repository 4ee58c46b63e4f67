"""The production command over HTTP: what a deploy and its proxy rely on."""

{% if cookiecutter.asgi_server == "uvicorn" %}import asyncio
{% endif %}import http.client
import json
import re
import signal
import time
from pathlib import Path

import pytest
from django.test import Client
{%- if cookiecutter.asgi_server == "uvicorn" %}
from websockets.asyncio.client import connect
{%- endif %}

from .servers import BASE_DIR, Server, {% if cookiecutter.database == "postgres" %}free_port, {% endif %}start_server, stop_server


def get(
    server: Server, path: str, **headers: str
) -> tuple[http.client.HTTPResponse, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def wait_for_log_line(log: Path, pattern: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if re.search(pattern, line):
                return line
        time.sleep(0.1)
    raise AssertionError(f"no line matches {pattern!r} in:\n{log.read_text()}")


def test_production_hides_debug_pages(production_server: Server) -> None:
    # No DJANGO_DEBUG in the server's environment: production, not debug pages.
    response, body = get(production_server, "/nowhere/")
    assert response.status == 404
    assert b"Using the URLconf" not in body


def test_server_starts_without_warnings(server: Server) -> None:
    # Startup only: what later tests make the server log is theirs to check.
    log = server.startup_log
    assert "Warning" not in log and "deprecated" not in log.lower(), log


def test_hsts_is_one_hour_by_default(production_server: Server) -> None:
    # The proxy says the request came over HTTPS (deploy/nginx.conf sets this).
    response, _ = get(
        production_server, "/admin/login/", **{"X-Forwarded-Proto": "https"}
    )
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") == "max-age=3600"


def test_environment_raises_hsts(tmp_path: Path) -> None:
    raised = start_server(
        "production",
        tmp_path / "server.log",
        env={
            "DJANGO_HSTS_SECONDS": "31536000",
            "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "1",
            "DJANGO_HSTS_PRELOAD": "1",
        },
    )
    try:
        response, _ = get(raised, "/admin/login/", **{"X-Forwarded-Proto": "https"})
    finally:
        stop_server(raised.process)
    assert response.getheader("Strict-Transport-Security") == (
        "max-age=31536000; includeSubDomains; preload"
    )


def hashed_name(name: str) -> str:
    manifest = json.loads((BASE_DIR / "staticfiles" / "staticfiles.json").read_text())
    hashed = manifest["paths"][name]
    assert hashed != name and re.search(r"\.[0-9a-f]{12}\.", hashed), hashed
    return str(hashed)


def test_only_hashed_static_files_are_cached_long(production_server: Server) -> None:
    hashed = hashed_name("admin/css/base.css")
    response, body = get(production_server, f"/static/{hashed}")
    assert response.status == 200 and b"body" in body
    cache = response.getheader("Cache-Control", "")
    assert "immutable" in cache and "max-age=315360000" in cache, cache
    response, _ = get(production_server, "/static/admin/css/base.css")
    assert response.status == 200
    assert response.getheader("Cache-Control") == "max-age=60, public"


def test_the_reconnecting_client_is_collected_and_served(
    production_server: Server,
) -> None:
    # With or without the demo page: socket.js is for the user's pages too.
    hashed = hashed_name("{{ cookiecutter.app_slug }}/socket.js")
    response, body = get(production_server, f"/static/{hashed}")
    assert response.status == 200 and b"class ReconnectingSocket" in body
{%- if cookiecutter.demo_page == "yes" %}


def test_demo_page_links_hashed_assets(production_server: Server) -> None:
    _, body = get(production_server, "/")
    for asset in ["socket.js", "demo.js", "demo.css"]:
        hashed = hashed_name(f"{{ cookiecutter.app_slug }}/{asset}")
        assert f'"/static/{hashed}"'.encode() in body
{%- endif %}


def test_errors_are_logged_with_time_level_and_logger(
    production_server: Server,
) -> None:
    response, _ = get(production_server, "/admin/", Host="attacker.example")
    assert response.status == 400
    wait_for_log_line(
        production_server.log,
        r"^\d{4}-\d\d-\d\d [\d:,]+ ERROR django\.security\.DisallowedHost: "
        r"Invalid HTTP_HOST header: 'attacker\.example'",
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "health.internal"])
def test_health_endpoint_answers_any_host(production_server: Server, host: str) -> None:
    # A container health check asks for 127.0.0.1, which ALLOWED_HOSTS may not list.
    response, body = get(production_server, "/healthz", Host=host)
    assert (response.status, body) == (200, b"ok")
    assert response.getheader("Set-Cookie") is None
    assert response.getheader("Cache-Control") == "no-store"


def test_health_endpoint_needs_no_session_or_database(client: Client) -> None:
    # Not marked django_db: pytest-django fails any query this test makes.
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies


@pytest.mark.parametrize("host", ["127.0.0.1", "health.internal"])
def test_readiness_answers_when_the_database_and_the_layer_do(
    production_server: Server, host: str
) -> None:
    response, body = get(production_server, "/readyz", Host=host)
    assert (response.status, body) == (200, b"ready")
    assert response.getheader("Cache-Control") == "no-store"


def test_readiness_names_a_database_that_does_not_answer(tmp_path: Path) -> None:
{%- if cookiecutter.database == "postgres" %}
    # Nothing listens there: the pool keeps trying, and the check's time runs out.
    env = {"DATABASE_URL": f"postgres://nobody:none@127.0.0.1:{free_port()}/none"}
    expected = b"not ready: the database did not answer (TimeoutError)"
{%- else %}
    missing = str(tmp_path / "no-such-folder" / "db.sqlite3")
    env = {"DJANGO_SQLITE_PATH": missing}
    expected = b"not ready: the database did not answer (OperationalError)"
{%- endif %}
    server = start_server("production", tmp_path / "server.log", env=env)
    try:
        response, body = get(server, "/readyz")
        assert response.status == 503
        assert body == expected
        # Alive all the same: a restart would not bring the database back.
        assert get(server, "/healthz")[0].status == 200
        wait_for_log_line(server.log, r"WARNING .*Not ready: the database")
    finally:
        stop_server(server.process)
    # It stopped at SIGTERM, not at the SIGKILL 10 s later: nothing waits for the
    # database at exit (health.py's own thread).
    assert server.process.returncode != -signal.SIGKILL

{%- if cookiecutter.asgi_server == "uvicorn" %}


async def test_uvicorn_logs_in_the_format_of_logging(production_server: Server) -> None:
    assert get(production_server, "/healthz")[0].status == 200
    async with connect(production_server.url + "/ws/ac/") as websocket:
        await websocket.send("logged")
        assert await asyncio.wait_for(websocket.recv(), 10) == "logged"
    # Uvicorn's own format would be 'INFO:     127.0.0.1:5555 - "WebSocket ...'.
    wait_for_log_line(
        production_server.log,
        r"^\d{4}-\d\d-\d\d [\d:,]+ INFO uvicorn\.error: 127\.0\.0\.1:\d+ - "
        r'"WebSocket /ws/ac/" \[accepted\]$',
    )
    log = production_server.log.read_text()
    assert not re.search(r"(?m)^(INFO|WARNING|ERROR): ", log)
    # --no-access-log holds: the request before the socket left no line.
    assert '"GET /healthz HTTP/1.1"' not in log
{%- endif %}
