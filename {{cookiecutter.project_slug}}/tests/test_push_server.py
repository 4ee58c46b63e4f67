"""Pushes through the real server: a logged-in browser's socket, a view, a command."""

import asyncio
import json
import secrets
import urllib.error
import urllib.request

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from .accounts import {% if cookiecutter.channel_layer == "in_memory" %}manage, {% endif %}session_cookie
from .servers import Server


def post(server: Server, path: str, cookies: dict[str, str], **headers: str) -> int:
    """POST as a browser's fetch() does; the HTTP status."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}",
        method="POST",
        headers={
            "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items()),
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def notifications(server: Server, session: str) -> connect:
    return connect(
        server.url + "/ws/notifications/",
        additional_headers={"Cookie": f"sessionid={session}"},
    )


async def received(websocket: ClientConnection) -> object:
    return json.loads(await asyncio.wait_for(websocket.recv(), 10))


async def push_test_notification(server: Server, session: str) -> None:
    """The view, as the demo page's button calls it: session and CSRF token."""
    token = secrets.token_hex(16)  # the csrftoken cookie, echoed in the header
    cookies = {"sessionid": session}
    status = await asyncio.to_thread(post, server, "/notifications/test/", cookies)
    assert status == 403  # no CSRF token: refused like any Django POST
    cookies["csrftoken"] = token
    status = await asyncio.to_thread(
        post, server, "/notifications/test/", cookies, **{"X-CSRFToken": token}
    )
    assert status == 204


async def test_anonymous_socket_is_refused_with_403_and_no_traceback(
    server_with_users: Server,
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await connect(server_with_users.url + "/ws/notifications/", open_timeout=10)
    assert refused.value.response.status_code == 403
    assert "Traceback" not in server_with_users.log.read_text()


async def test_the_view_pushes_to_the_logged_in_users_socket(
    server_with_users: Server, accounts: dict[str, str]
) -> None:
    session = await asyncio.to_thread(session_cookie, "alice", accounts)
    async with notifications(server_with_users, session) as websocket:
        await push_test_notification(server_with_users, session)
        message = await received(websocket)
    assert isinstance(message, dict)
    assert message["message"].startswith("Test notification")
{%- if cookiecutter.channel_layer == "in_memory" %}


async def test_manage_py_push_refuses_the_in_memory_layer_and_reaches_no_one(
    server_with_users: Server, accounts: dict[str, str]
) -> None:
    session = await asyncio.to_thread(session_cookie, "alice", accounts)
    async with notifications(server_with_users, session) as websocket:
        result = await asyncio.to_thread(
            manage, "push", "--user", "alice", "never arrives", env=accounts
        )
        assert result.returncode == 1 and result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "in-memory channel layer lives inside the server process" in lines[0]
        assert "channel_layer=redis" in lines[0]
        # A push that can arrive is the first thing the socket gets: the
        # command's never did.
        await push_test_notification(server_with_users, session)
        first = await received(websocket)
    assert isinstance(first, dict)
    assert first["message"].startswith("Test notification")
{%- endif %}
