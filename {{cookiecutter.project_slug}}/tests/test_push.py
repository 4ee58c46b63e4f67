"""push.py and NotificationsConsumer under channels.testing, without a server."""

import datetime
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
{%- if cookiecutter.channel_layer == "in_memory" %}
from django.core.exceptions import ImproperlyConfigured
{%- endif %}
from django.test import Client

from {{ cookiecutter.app_slug }}.consumers import ChatConsumer, NotificationsConsumer
from {{ cookiecutter.app_slug }}.push import (
    apush_to_group,
    apush_to_user,
    push_to_group,
    push_to_user,
    user_group,
)

from .layer import receive_many
from .rooms import next_json

User = get_user_model()
ALICE = User(pk=1, username="alice")
BOB = User(pk=2, username="bob")
DAVE = User(pk=4, username="dave")  # no other test uses his group


async def tab(user: Any) -> WebsocketCommunicator:
    """One open page of this user: a socket on ws/notifications/."""
    communicator = WebsocketCommunicator(
        NotificationsConsumer.as_asgi(), "/ws/notifications/"
    )
    scope: Any = communicator.scope  # as AuthMiddlewareStack fills it
    scope["user"] = user
    accepted, _ = await communicator.connect()
    assert accepted
    return communicator


@pytest.fixture
async def alice_and_bob() -> AsyncIterator[list[WebsocketCommunicator]]:
    tabs = [await tab(ALICE), await tab(ALICE), await tab(BOB)]
    yield tabs
    for communicator in tabs:
        await communicator.disconnect()


async def group_size(group: str) -> int:
    """How many sockets the channel layer holds in the group."""
    layer: Any = get_channel_layer()
{%- if cookiecutter.channel_layer == "redis" %}
    # channels_redis keeps a group as a sorted set of channel names.
    connection = layer.connection(layer.consistent_hash(group))
    return int(await connection.zcard(layer._group_key(group)))
{%- else %}
    return len(layer.groups.get(group, {}))
{%- endif %}


async def test_anonymous_handshake_is_refused() -> None:
    communicator = WebsocketCommunicator(NotificationsConsumer.as_asgi(), "/")
    scope: Any = communicator.scope
    scope["user"] = AnonymousUser()
    accepted, _ = await communicator.connect()
    assert not accepted  # closed before accept: servers answer HTTP 403
    await communicator.disconnect()


async def test_a_user_gets_pushes_to_their_group_and_not_another_users(
    alice_and_bob: list[WebsocketCommunicator],
) -> None:
    alice, _, bob = alice_and_bob
    await apush_to_user(ALICE, {"message": "for alice"})
    await apush_to_user(BOB, {"message": "for bob"})
    assert await alice.receive_json_from() == {"message": "for alice"}
    # Bob's first message is his own: alice's push never reached his socket.
    assert await bob.receive_json_from() == {"message": "for bob"}


async def test_every_tab_of_a_user_gets_each_push(
    alice_and_bob: list[WebsocketCommunicator],
) -> None:
    first, second, _ = alice_and_bob
    await apush_to_user(ALICE.pk, {"message": "both tabs", "count": 2})
    for communicator in (first, second):
        assert await communicator.receive_json_from() == {
            "message": "both tabs",
            "count": 2,
        }


async def test_leaving_the_page_leaves_the_group() -> None:
    first, second = await tab(DAVE), await tab(DAVE)
    assert await group_size(user_group(DAVE)) == 2
    await first.disconnect()
    assert await group_size(user_group(DAVE)) == 1
    await apush_to_user(DAVE, {"message": "still here"})
    assert await second.receive_json_from() == {"message": "still here"}
    await second.disconnect()
    assert await group_size(user_group(DAVE)) == 0


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({"when": datetime.date(2026, 1, 1)}, "date"),
        ({"ids": {1, 2}}, "set"),
        ({"ratio": float("nan")}, "float"),
    ],
)
async def test_a_payload_that_is_not_json_fails_at_the_call(
    alice_and_bob: list[WebsocketCommunicator], payload: Any, named: str
) -> None:
    alice = alice_and_bob[0]
    with pytest.raises(TypeError, match=named):
        await apush_to_user(ALICE, payload)
    await apush_to_user(ALICE, {"message": "after"})
    # Nothing was sent by the failed call: the next message is the good one.
    assert await alice.receive_json_from() == {"message": "after"}


def test_sync_functions_check_the_payload_and_the_group_name() -> None:
    with pytest.raises(TypeError, match="datetime"):
        push_to_user(ALICE, {"at": datetime.datetime.now()})
    with pytest.raises(TypeError, match="Group name"):
        push_to_group("café", {"message": "x"})
    with pytest.raises(ValueError, match="anonymous"):
        push_to_user(AnonymousUser(), {"message": "x"})


@pytest.mark.parametrize("user", ["alice", "1", 1.0, True, None])
def test_push_to_user_refuses_what_is_not_a_user_or_its_primary_key(user: Any) -> None:
    # A username once became group user_alice, which no socket joins: lost silently.
    with pytest.raises(TypeError, match="a user object or its integer primary key"):
        push_to_user(user, {"message": "x"})
    with pytest.raises(TypeError, match="get_by_natural_key"):
        user_group(user)


def test_a_user_and_its_primary_key_name_one_group() -> None:
    assert user_group(ALICE) == user_group(ALICE.pk) == "user_1"


def test_a_process_that_serves_no_asgi_application_{% if cookiecutter.channel_layer == "redis" %}pushes_through_redis{% else %}refuses_to_push{% endif %}(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A shell or a worker: it never imported asgi.py, as this test process did.
    monkeypatch.delitem(sys.modules, "{{ cookiecutter.project_slug }}.asgi")
{%- if cookiecutter.channel_layer == "redis" %}
    layer: Any = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("from_a_worker", channel)
    push_to_group("from_a_worker", {"message": "via Redis"})
    [event] = receive_many(channel, 1)
    assert json.loads(event["text"]) == {"message": "via Redis"}
{%- else %}
    with pytest.raises(ImproperlyConfigured, match="in-memory channel layer"):
        push_to_user(ALICE, {"message": "to no one"})
    with pytest.raises(ImproperlyConfigured, match="in-memory channel layer"):
        push_to_group("chat_lobby", {"message": "to no one"})
{%- endif %}


def test_several_pushes_from_sync_code_arrive_in_order() -> None:
    # As a task pushing progress does; receive_many gets them in one event loop.
    layer: Any = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("progress", channel)
    for step in range(3):
        push_to_group("progress", {"step": step})
    first = [json.loads(event["text"])["step"] for event in receive_many(channel, 3)]
    push_to_group("progress", {"step": 3})
    [last] = receive_many(channel, 1)  # a second call sees no message again
    async_to_sync(layer.group_discard)("progress", channel)
    assert first == [0, 1, 2] and json.loads(last["text"])["step"] == 3


@pytest.mark.django_db(transaction=True)  # the chat stores each message
async def test_a_push_to_a_group_reaches_a_chat_room() -> None:
    room = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/lobby/")
    scope: Any = room.scope
    scope["url_route"] = {"kwargs": {"room": "lobby"}}
    accepted, _ = await room.connect()
    assert accepted
    await apush_to_group("chat_lobby", {"message": "from the server"})
    assert await next_json(room) == {"message": "from the server"}
    await room.disconnect()


async def test_a_frame_from_the_client_gets_an_error_and_the_socket_stays(
    alice_and_bob: list[WebsocketCommunicator],
) -> None:
    alice = alice_and_bob[0]
    await alice.send_to(text_data="not json {")
    assert "error" in await alice.receive_json_from()
    await alice.send_to(bytes_data=b"\xff")
    assert "error" in await alice.receive_json_from()
    await apush_to_user(ALICE, {"message": "open"})
    assert await alice.receive_json_from() == {"message": "open"}


def test_the_view_pushes_to_the_logged_in_user_and_answers_204(
    django_user_model: Any,
) -> None:
    # Sync, like the view: Django's test client and ORM, and the layer driven
    # through async_to_sync as any sync code (a view, a task) drives it.
    user = django_user_model.objects.create_user("carol", password="unused-pw-1")
    layer: Any = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(user), channel)
    client = Client(enforce_csrf_checks=True)
    assert client.post("/notifications/test/").status_code == 403  # anonymous
    client.force_login(user)
    assert client.get("/notifications/test/").status_code == 405  # POST only
    assert client.post("/notifications/test/").status_code == 403  # no CSRF token
    token = "abcdefghijklmnopqrstuvwxyz012345"  # any 32 letters and digits will do
    client.cookies["csrftoken"] = token
    response = client.post("/notifications/test/", headers={"X-CSRFToken": token})
    assert response.status_code == 204
    [event] = receive_many(channel, 1)
    async_to_sync(layer.group_discard)(user_group(user), channel)
    assert json.loads(event["text"])["message"].startswith("Test notification")
