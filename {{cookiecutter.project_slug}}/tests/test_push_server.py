"""Pushes through the real server: a logged-in browser's socket, a view, a command."""

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .accounts import {% if cookiecutter.channel_layer == "in_memory" %}manage, {% endif %}push_test_notification, received, session_cookie
from .servers import Server


def notifications(server: Server, session: str) -> connect:
    return connect(
        server.url + "/ws/notifications/",
        additional_headers={"Cookie": f"sessionid={session}"},
    )


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
        await asyncio.to_thread(push_test_notification, server_with_users, session)
        message = await received(websocket)
    assert message == {"message": "Test notification for alice."}
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
        await asyncio.to_thread(push_test_notification, server_with_users, session)
        first = await received(websocket)
    assert first == {"message": "Test notification for alice."}


def test_push_to_user_in_a_shell_refuses_the_in_memory_layer(
    accounts: dict[str, str],
) -> None:
    push = (
        "from {{ cookiecutter.app_slug }}.push import push_to_user; "
        "push_to_user(1, {'message': 'reaches no one'})"
    )
    result = manage("shell", "-v", "0", "-c", push, env=accounts)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: The in-memory")
    assert "push from a view or a consumer" in last


def test_the_progress_job_refuses_the_in_memory_layer_before_any_work(
    accounts: dict[str, str],
) -> None:
    job = ["progress", "--user", "alice", "--steps", "1", "--seconds", "600"]
    result = manage(*job, env=accounts)  # 600 s of work would time manage() out
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("CommandError: The in-memory channel layer")
{%- endif %}
