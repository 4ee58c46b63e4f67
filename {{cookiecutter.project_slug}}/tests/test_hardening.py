"""Hostile and broken input against the real server; others keep being served."""

import base64
import json
import os
import socket
import struct
import time
from collections.abc import Callable, Iterator

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from .rooms import next_in_room_sync
from .servers import MAX_MESSAGE_SIZE, Server, running_server

PATHS = ["/ws/sc/", "/ws/ac/"]


def assert_both_consumers_echo(server: Server) -> None:
    for path in PATHS:
        with connect(server.url + path, open_timeout=10) as websocket:
            websocket.send("still here")
            assert websocket.recv(timeout=10) == "still here"


def echoes(websocket: ClientConnection, message: str | bytes) -> None:
    websocket.send(message)
    assert websocket.recv(timeout=10) == message


def is_dropped(websocket: ClientConnection, message: str | bytes) -> None:
    websocket.send(message)
    with pytest.raises(ConnectionClosed):
        websocket.recv(timeout=10)  # nothing comes back: the consumer never saw it


def empty_frame_is_harmless(websocket: ClientConnection, empty: str | bytes) -> None:
    # Daphne skips a websocket.send whose payload is empty, so the echo of an
    # empty frame may never come; the connection must go on all the same.
    websocket.send(empty)
    websocket.send("after")
    reply = websocket.recv(timeout=10)
    if reply == empty:
        reply = websocket.recv(timeout=10)
    assert reply == "after"


def invalid_utf8_is_dropped(websocket: ClientConnection) -> None:
    websocket.send(b"\xff\xfe\xfd", text=True)
    with pytest.raises(ConnectionClosed):
        websocket.recv(timeout=10)


BAD_INPUT: dict[str, Callable[[ClientConnection], None]] = {
    "binary frame": lambda ws: echoes(ws, b"\x00\xff binary"),
    "empty text frame": lambda ws: empty_frame_is_harmless(ws, ""),
    "empty binary frame": lambda ws: empty_frame_is_harmless(ws, b""),
    "frame at exactly the limit": lambda ws: echoes(ws, "x" * MAX_MESSAGE_SIZE),
    "frame one byte over the limit": lambda ws: is_dropped(
        ws, "x" * (MAX_MESSAGE_SIZE + 1)
    ),
    "invalid UTF-8 in a text frame": invalid_utf8_is_dropped,
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_harms_no_one_else(server: Server, case: str, path: str) -> None:
    with connect(server.url + path, open_timeout=10, max_size=None) as websocket:
        BAD_INPUT[case](websocket)
    assert_both_consumers_echo(server)


def vanish_mid_message(port: int, path: str) -> None:
    """Open a WebSocket by hand, send half a frame, then reset the TCP connection."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert b" 101 " in sock.recv(4096)
    # A masked text frame that announces 100 bytes; only 10 arrive.
    sock.sendall(bytes([0x81, 0x80 | 100]) + os.urandom(4) + b"x" * 10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # linger 0: a TCP reset, no close frame


@pytest.mark.parametrize("path", PATHS)
def test_client_vanishing_mid_message_harms_no_one_else(
    server: Server, path: str
) -> None:
    vanish_mid_message(server.port, path)
    assert_both_consumers_echo(server)


def test_unknown_path_is_refused_cleanly(server: Server) -> None:
    log_before = len(server.log.read_text())
    with pytest.raises(InvalidStatus) as refused:
        connect(server.url + "/ws/nowhere/", open_timeout=10)
    assert refused.value.response.status_code == 403
    assert_both_consumers_echo(server)
    # Refused by WebsocketDenier, not by URLRouter's ValueError: no traceback.
    written = server.log.read_text()[log_before:]
    assert "Traceback" not in written, written[-3000:]


def test_foreign_origin_is_refused_with_one_log_line(server: Server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(
            server.url + "/ws/ac/",
            origin=Origin("https://evil.example"),
            open_timeout=10,
        )
    assert refused.value.response.status_code == 403
    lines = [
        line
        for line in wait_for_log(server, "'https://evil.example'").splitlines()
        if "'https://evil.example'" in line
    ]
    assert len(lines) == 1
    assert "WebSocket '/ws/ac/': origin 'https://evil.example' refused" in lines[0]


def wait_for_log(server: Server, text: str) -> str:
    """The server's log once it holds text (servers write it after answering)."""
    deadline = time.monotonic() + 10
    while text not in (log := server.log.read_text()):
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{log[-3000:]}"
        time.sleep(0.05)
    return log


@pytest.mark.parametrize("path", PATHS)
def test_allowed_origin_is_accepted(server: Server, path: str) -> None:
    # runserver: the host on any port, as Channels allows it; production: the
    # host's https:// origin, what browsers send behind the TLS proxy.
    origin = Origin(
        f"http://localhost:{server.port}"
        if server.kind == "runserver"
        else "https://localhost"
    )
    with connect(server.url + path, origin=origin, open_timeout=10) as websocket:
        echoes(websocket, "same site")


@pytest.mark.parametrize("path", PATHS)
def test_client_without_origin_is_accepted(server: Server, path: str) -> None:
    # Command-line clients send no Origin; the websockets client is one of them.
    with connect(server.url + path, open_timeout=10) as websocket:
        assert websocket.request is not None
        assert "Origin" not in websocket.request.headers
        echoes(websocket, "no origin")


# Each is a JSON parse failure: nesting too deep for json.loads raises RecursionError,
# not ValueError; all of them stay under the 64 KiB frame limit.
CHAT_PARSE_FAILURES = {
    "60 KB of [": "[" * 60_000,
    "deeply nested objects": '{"a":' * 12_000,
    "not json": "not json",
}


def test_any_chat_frame_gets_an_error_and_the_connection_stays_open(
    server: Server,
) -> None:
    log_before = len(server.log.read_text())
    with connect(server.url + "/ws/chat/parse/", open_timeout=10) as websocket:
        for frame in CHAT_PARSE_FAILURES.values():
            websocket.send(frame)
            assert "error" in next_in_room_sync(websocket)
        websocket.send(json.dumps({"message": "still open"}))
        assert next_in_room_sync(websocket)["message"] == "still open"
    written = server.log.read_text()[log_before:]
    assert "Traceback" not in written, written[-3000:]


@pytest.fixture(scope="module")
def wildcard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Production with wildcard hosts, which must not widen the origins."""
    env = {
        "DJANGO_ALLOWED_HOSTS": "*,.example.test,Shop.Example.test",
        "DJANGO_WEBSOCKET_ALLOWED_ORIGINS": "https://app.example.test:8443",
    }
    log = tmp_path_factory.mktemp("wildcard") / "server.log"
    with running_server("production", log, env=env) as server:
        yield server


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        ("https://evil.example", False),  # "*" admits no origin
        ("https://sub.example.test", False),  # ".example.test" no subdomain
        ("https://example.test", True),  # but the domain itself, over https
        ("http://example.test", False),
        ("https://example.test:9999", False),
        ("https://app.example.test:8443", True),  # listed
        ("https://shop.example.test", True),  # a host written in capitals
    ],
)
def test_wildcard_hosts_do_not_widen_origins(
    wildcard_server: Server, origin: str, accepted: bool
) -> None:
    url = wildcard_server.url + "/ws/ac/"
    if accepted:
        with connect(url, origin=Origin(origin), open_timeout=10) as websocket:
            echoes(websocket, "allowed")
    else:
        with pytest.raises(InvalidStatus) as refused:
            connect(url, origin=Origin(origin), open_timeout=10)
        assert refused.value.response.status_code == 403
