"""A real server (runserver and daphne) and a real WebSocket client."""

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from .servers import Server


@pytest.mark.parametrize("path", ["/ws/sc/", "/ws/ac/"])
def test_server_echoes_text_and_bytes(server: Server, path: str) -> None:
    with connect(server.url + path, open_timeout=10) as websocket:
        websocket.send("hello")
        assert websocket.recv(timeout=10) == "hello"
        websocket.send(b"\x00\x01")
        assert websocket.recv(timeout=10) == b"\x00\x01"


def test_server_refuses_unknown_path(server: Server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(server.url + "/ws/nowhere/", open_timeout=10)
    assert refused.value.response.status_code == 403


def test_server_is_the_expected_one(server: Server) -> None:
    # runserver is Daphne's only while daphne comes first in INSTALLED_APPS.
    banner = {
        "runserver": "Starting ASGI/Daphne",
{%- if cookiecutter.asgi_server == "uvicorn" %}
        "production": "Uvicorn running on",
{%- else %}
        "production": "Starting server at",
{%- endif %}
    }
    assert banner[server.kind] in server.log.read_text()
