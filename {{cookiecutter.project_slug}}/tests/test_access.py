"""A user's sockets end with the user's access (access.py in the Channels app)."""

import asyncio
{%- if cookiecutter.channel_layer == "redis" %}
import copy
{%- endif %}
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
{%- if cookiecutter.channel_layer == "redis" %}
from django.test import Client
{%- endif %}
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from {{ cookiecutter.app_slug }}.access import ACCESS_CHANGED, LOGGED_OUT
from {{ cookiecutter.app_slug }}.consumers import NotificationsConsumer

from .accounts import {% if cookiecutter.channel_layer == "redis" %}manage, {% endif %}post, session_cookie
from .servers import Server{% if cookiecutter.channel_layer == "redis" %}, free_port{% endif %}

User = get_user_model()


async def tab(user: Any) -> WebsocketCommunicator:
    """An open page of this user: a socket on ws/notifications/ (and its groups)."""
    communicator = WebsocketCommunicator(
        NotificationsConsumer.as_asgi(), "/ws/notifications/"
    )
    scope: Any = communicator.scope  # as AuthMiddlewareStack fills it
    scope["user"] = user
    assert (await communicator.connect())[0]
    return communicator


def deactivate(user: Any) -> None:
    user.is_active = False
    user.save()


def new_password(user: Any) -> None:
    user.set_password("a-new-long-password-44")
    user.save()


def delete(user: Any) -> None:
    user.delete()


@pytest.mark.django_db(transaction=True)  # the signals send once the change commits
@pytest.mark.parametrize("change", [deactivate, new_password, delete])
async def test_a_change_to_the_user_closes_their_sockets(
    change: Callable[[Any], None],
) -> None:
    user = await sync_to_async(User.objects.create_user)(
        "dora", password="a-long-password-45"
    )
    communicator = await tab(user)
    await sync_to_async(change)(user)
    closed = await communicator.receive_output(timeout=10)
    assert (closed["type"], closed["code"]) == ("websocket.close", ACCESS_CHANGED)


@pytest.mark.django_db(transaction=True)
async def test_an_unrelated_save_leaves_the_sockets_open() -> None:
    user = await sync_to_async(User.objects.create_user)(
        "emil", password="a-long-password-46"
    )
    communicator = await tab(user)
    user.first_name = "Emil"
    await sync_to_async(user.save)()
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def closed_with(websocket: Any) -> int | None:
    """The close code the server sent, waiting for it at most 10 s."""
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(websocket.recv(), 10)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_logging_out_closes_that_sessions_sockets_and_no_other(
    server_with_users: Server, accounts: dict[str, str]
) -> None:
    this, other = [
        await asyncio.to_thread(session_cookie, "bob", accounts) for _ in range(2)
    ]
    url = server_with_users.url + "/ws/notifications/"
    async with (
        connect(url, additional_headers={"Cookie": f"sessionid={this}"}) as leaving,
        connect(url, additional_headers={"Cookie": f"sessionid={other}"}) as staying,
    ):
        token = secrets.token_hex(16)
        cookies = {"sessionid": this, "csrftoken": token}
        headers = {"X-CSRFToken": token}
        logout = "/accounts/logout/"
        status = await asyncio.to_thread(
            post, server_with_users, logout, cookies, **headers
        )
        assert status in {200, 302}  # Django's LogoutView: a page, or a redirect
        assert await closed_with(leaving) == LOGGED_OUT
        await staying.send("still open?")
        assert "error" in await asyncio.wait_for(staying.recv(), 10)
{%- if cookiecutter.channel_layer == "redis" %}


@pytest.mark.django_db(transaction=True)
def test_a_logout_and_a_deactivation_still_work_while_redis_is_down(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    layer = copy.deepcopy(settings.CHANNEL_LAYERS)
    nowhere = f"redis://127.0.0.1:{free_port()}"  # nothing listens there
    layer["default"]["CONFIG"]["hosts"][0]["address"] = nowhere
    settings.CHANNEL_LAYERS = layer
    user = User.objects.create_user("gus", password="a-long-password-48")
    client = Client()
    client.force_login(user)
    assert client.post("/accounts/logout/").status_code in {200, 302}
    assert "_auth_user_id" not in client.session
    user.is_active = False
    user.save()
    user.refresh_from_db()
    assert not user.is_active
    assert "Could not close the sockets of" in caplog.text


MAKE_USER = """
from django.contrib.auth import get_user_model
{%- if cookiecutter.channel_layer == "redis" %}
from django.test import Client
{%- endif %}
get_user_model().objects.create_user("fritz", password="a-long-password-47")
"""
DEACTIVATE = """
from django.contrib.auth import get_user_model
{%- if cookiecutter.channel_layer == "redis" %}
from django.test import Client
{%- endif %}
user = get_user_model().objects.get(username="fritz")
user.is_active = False
user.save()
"""


async def test_a_deactivation_in_another_process_closes_the_users_sockets(
    server_with_users: Server, accounts: dict[str, str]
) -> None:
    made = await asyncio.to_thread(manage, "shell", "-c", MAKE_USER, env=accounts)
    assert made.returncode == 0, made.stderr
    session = await asyncio.to_thread(session_cookie, "fritz", accounts)
    url = server_with_users.url + "/ws/notifications/"
    cookie = {"Cookie": f"sessionid={session}"}
    async with connect(url, additional_headers=cookie) as websocket:
        done = await asyncio.to_thread(manage, "shell", "-c", DEACTIVATE, env=accounts)
        assert done.returncode == 0, done.stderr
        assert await closed_with(websocket) == ACCESS_CHANGED
{%- endif %}
