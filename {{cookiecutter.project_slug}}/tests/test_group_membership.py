"""A socket stays in its groups while it is open, and leaves them on every way out
({{ cookiecutter.app_slug }}/groups.py). Time is made short, never waited for."""

import asyncio
{%- if cookiecutter.channel_layer == "redis" %}
import json
import time
from collections.abc import Iterator
from pathlib import Path
{%- endif %}
from typing import Any

import pytest
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
{%- if cookiecutter.channel_layer == "redis" %}
from redis import Redis
from websockets.asyncio.client import connect
{%- endif %}

from {{ cookiecutter.app_slug }}.consumers import ChatConsumer
from {{ cookiecutter.app_slug }}.groups import GroupMember

{% if cookiecutter.channel_layer == "redis" -%}
from .redis_server import RedisServer
from .rooms import next_in_room, next_json
from .servers import Server, free_port, start_server, stop_server
{%- else -%}
from .rooms import next_json
{%- endif %}


def chat_event(text: str) -> dict[str, Any]:
    """A chat message as ChatConsumer.receive sends it to the room (history.py)."""
    return {"type": "chat.message", "id": 0, "message": text, "user": None, "sent": ""}


def chat(room: str, consumer: type[ChatConsumer] = ChatConsumer) -> Any:
    """A socket on ws/chat/<room>/, as URLRouter hands it to the consumer."""
    communicator = WebsocketCommunicator(consumer.as_asgi(), f"/ws/chat/{room}/")
    scope: Any = communicator.scope
    scope["url_route"] = {"kwargs": {"room": room}}
    return communicator


async def arrives(communicator: WebsocketCommunicator, group: str) -> bool:
    """Whether a group_send to group reaches the socket within a second."""
    layer: Any = get_channel_layer()
    await layer.group_send(group, chat_event("probe"))
    # receive_nothing, not a receive that times out: that would end the consumer.
    while not await communicator.receive_nothing(timeout=1):
        if "message" in await communicator.receive_json_from():
            return True  # not presence news: the probe
    return False


@pytest.mark.django_db(transaction=True)  # the chat stores each message
async def test_a_lost_membership_is_renewed_within_a_heartbeat(settings: Any) -> None:
    settings.WEBSOCKET_HEARTBEAT = 0.2
    communicator = chat("renewed")
    assert (await communicator.connect())[0]
    assert await arrives(communicator, "chat_renewed")
    layer: Any = get_channel_layer()
{%- if cookiecutter.channel_layer == "redis" %}
    await layer.flush()  # what a Redis restart without its data does
{%- else %}
    layer.groups.pop("chat_renewed")  # what group_expiry does after a day
{%- endif %}
    for _ in range(5):  # each try waits a second: five heartbeats' worth
        if await arrives(communicator, "chat_renewed"):
            break
    else:
        raise AssertionError("the membership was never renewed")
    await communicator.disconnect()


class SwitchingRooms(ChatConsumer):
    """Moves to the room a client names: leave() the old one, join() the new."""

    async def receive(self, text_data: Any = None, *args: Any, **kwargs: Any) -> None:
        await self.leave(self.group)
        self.group = f"chat_{text_data}"
        await self.join(self.group)
        await self.send_json({"moved": text_data})


@pytest.mark.django_db(transaction=True)  # the chat stores each message
async def test_a_room_left_stays_left_through_the_heartbeats(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.WEBSOCKET_HEARTBEAT = 0.05
    layer: Any = get_channel_layer()
    renewed: list[str] = []
    group_add = layer.group_add

    async def recording_group_add(group: str, channel: str) -> None:
        renewed.append(group)
        await group_add(group, channel)

    monkeypatch.setattr(layer, "group_add", recording_group_add)
    communicator = chat("old", SwitchingRooms)
    assert (await communicator.connect())[0]
    await communicator.send_to(text_data="new")
    assert await next_json(communicator) == {"moved": "new"}
    moved = len(renewed)
    deadline = asyncio.get_running_loop().time() + 10
    while renewed[moved:].count("chat_new") < 3:  # three heartbeats since the move
        assert asyncio.get_running_loop().time() < deadline, renewed
        await asyncio.sleep(0.01)
    assert "chat_old" not in renewed[moved:]
    assert not await arrives(communicator, "chat_old")
    await communicator.disconnect()


def test_group_member_after_the_channels_class_is_refused() -> None:
    with pytest.raises(TypeError, match="put GroupMember before"):

        class Backwards(AsyncJsonWebsocketConsumer, GroupMember):
            pass


@pytest.mark.django_db(transaction=True)  # the chat stores each message
async def test_a_consumer_ended_without_disconnect_leaves_its_groups() -> None:
    # As when a send fails under Uvicorn: the server ends the application instance,
    # and Channels never calls disconnect().
    communicator = chat("leaving")
    assert (await communicator.connect())[0]
    assert await arrives(communicator, "chat_leaving")
    communicator.future.cancel()
    await asyncio.gather(communicator.future, return_exceptions=True)
    layer: Any = get_channel_layer()
{%- if cookiecutter.channel_layer == "redis" %}
    key = layer._group_key("chat_leaving")  # channels_redis's own name for it
    assert await layer.connection(layer.consistent_hash("chat_leaving")).zcard(key) == 0
{%- else %}
    assert not layer.groups.get("chat_leaving")
{%- endif %}
{%- if cookiecutter.channel_layer == "redis" %}


@pytest.fixture
def beating_server(tmp_path: Path, redis_server: RedisServer) -> Iterator[Server]:
    env = {"DJANGO_WEBSOCKET_HEARTBEAT_SECONDS": "1"}
    server = start_server("production", tmp_path / "server.log", env=env)
    try:
        yield server
    finally:
        stop_server(server.process)


def members(redis: RedisServer, group: str) -> int:
    return int(Redis.from_url(redis.url).zcard(f"asgi:group:{group}"))


async def test_after_a_redis_restart_the_socket_is_back_in_its_room(
    tmp_path: Path,
) -> None:
    # A Redis of this test's own, restarted without persistence: every membership
    # and every connection is gone.
    folder = tmp_path / "redis"
    folder.mkdir()
    redis = RedisServer(free_port(), folder)
    redis.start()
    env = {"REDIS_URL": redis.url, "DJANGO_WEBSOCKET_HEARTBEAT_SECONDS": "1"}
    server = start_server("production", tmp_path / "server.log", env=env)
    try:
        url = server.url + "/ws/chat/restarted/"
        async with connect(url) as listener, connect(url) as speaker:
            assert members(redis, "chat_restarted") == 2
            redis.stop()
            redis.start()
            assert members(redis, "chat_restarted") == 0
            deadline = time.monotonic() + 10
            while members(redis, "chat_restarted") < 2:
                assert time.monotonic() < deadline, "not back in the room in 10 s"
                await asyncio.sleep(0.1)
            await speaker.send(json.dumps({"message": "still here?"}))
            heard = await next_in_room(listener)
        assert heard["message"] == "still here?"
    finally:
        stop_server(server.process)
        redis.stop()


async def test_a_client_that_stops_reading_then_vanishes_leaves_no_ghost(
    beating_server: Server, redis_server: RedisServer
) -> None:
    # max_queue=1: the client library stops reading from the socket at once.
    client = await connect(beating_server.url + "/ws/chat/ghost/", max_queue=1)
    assert members(redis_server, "chat_ghost") == 1
    layer: Any = get_channel_layer()
    for _ in range(600):
        await layer.group_send("chat_ghost", chat_event("x" * 30_000))
    client.transport.abort()  # gone without a close frame, its buffers unread
    deadline = time.monotonic() + 30
    while members(redis_server, "chat_ghost"):
        assert time.monotonic() < deadline, "the vanished client is still a member"
        await asyncio.sleep(0.1)
{%- endif %}
