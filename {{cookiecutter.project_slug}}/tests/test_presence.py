"""A chat room knows who is there ({{ cookiecutter.app_slug }}/presence.py): news on
every arrival and departure, and a dead socket's entry gone within three heartbeats.
Time is made short, never waited for."""

import asyncio
{%- if cookiecutter.channel_layer == "redis" %}
import json
import time
from collections.abc import Iterator
from pathlib import Path
{%- endif %}
from typing import Any

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
{%- if cookiecutter.channel_layer == "redis" %}
from websockets.asyncio.client import ClientConnection, connect
{%- endif %}

from {{ cookiecutter.app_slug }} import presence
from {{ cookiecutter.app_slug }}.consumers import ChatConsumer
{%- if cookiecutter.channel_layer == "redis" %}

from .servers import Server, start_server, stop_server
{%- endif %}


def chat(room: str, username: str | None = None) -> WebsocketCommunicator:
    """A socket on ws/chat/<room>/, anonymous or of a user of that name."""
    communicator = WebsocketCommunicator(ChatConsumer.as_asgi(), f"/ws/chat/{room}/")
    scope: Any = communicator.scope
    scope["url_route"] = {"kwargs": {"room": room}}
    if username is not None:
        scope["user"] = get_user_model()(username=username)  # logged in, unsaved
    return communicator


async def news(communicator: WebsocketCommunicator) -> dict[str, Any]:
    content = await communicator.receive_json_from(timeout=5)
    assert "presence" in content, content
    return dict(content["presence"])


@pytest.mark.django_db(transaction=True)  # the chat stores each message
async def test_the_room_hears_each_arrival_and_departure() -> None:
    someone, alice = chat("arrivals"), chat("arrivals", "alice")
    assert (await someone.connect())[0]
    assert await news(someone) == {"count": 1, "users": []}  # anonymous: counted
    assert (await alice.connect())[0]
    for communicator in (someone, alice):
        assert await news(communicator) == {"count": 2, "users": ["alice"]}
    await alice.disconnect()
    assert await news(someone) == {"count": 1, "users": []}
    await someone.disconnect()


@pytest.mark.django_db(transaction=True)  # the chat stores each message
async def test_a_user_with_two_tabs_is_listed_once() -> None:
    tabs = [chat("tabs", "alice"), chat("tabs", "alice")]
    for tab in tabs:
        assert (await tab.connect())[0]
    last = {}
    while not await tabs[0].receive_nothing(timeout=0.5):
        last = await news(tabs[0])
    assert last == {"count": 2, "users": ["alice"]}
    for tab in tabs:
        await tab.disconnect()


@pytest.mark.django_db(transaction=True)  # the chat stores each message
async def test_a_dead_sockets_entry_is_gone_within_three_heartbeats(
    settings: Any,
) -> None:
    # What a killed server leaves: an entry that nobody will renew or remove.
    settings.WEBSOCKET_HEARTBEAT = 0.2
    lifetime = presence.ENTRY_LIFETIME * settings.WEBSOCKET_HEARTBEAT
    layer: Any = get_channel_layer()
    await presence.update(layer, "chat_dead", "killed-server!1", "ghost", lifetime)
    survivor = chat("dead")
    assert (await survivor.connect())[0]
    assert await news(survivor) == {"count": 2, "users": ["ghost"]}
    started = asyncio.get_running_loop().time()
    assert await news(survivor) == {"count": 1, "users": []}
    assert asyncio.get_running_loop().time() - started < 5  # three beats: 0.6 s
    await survivor.disconnect()
{%- if cookiecutter.channel_layer == "redis" %}


@pytest.mark.django_db(transaction=True)  # the chat stores each message
async def test_news_still_flows_after_redis_lost_its_data() -> None:
    first, second = chat("flushed"), chat("flushed")
    for communicator in (first, second):
        assert (await communicator.connect())[0]
    while not await first.receive_nothing(timeout=0.5):
        await news(first)
    layer: Any = get_channel_layer()
    redis = layer.connection(layer.consistent_hash("chat_flushed"))
    channels = await redis.zrange(layer._group_key("chat_flushed"), 0, -1)
    await layer.flush()  # what a Redis restart without its data does
    for channel in channels:  # back in the group, as their next heartbeat does
        await layer.group_add("chat_flushed", channel.decode())
    third = chat("flushed")
    assert (await third.connect())[0]
    # Only the newcomer's entry is left until the others' next heartbeat; the news
    # must reach those who came before, not be taken for old news.
    assert await news(first) == {"count": 1, "users": []}
    for communicator in (first, second, third):
        await communicator.disconnect()


async def presence_news(websocket: ClientConnection) -> dict[str, Any]:
    """The next presence news on a socket (chat messages pass by)."""
    while True:
        content = json.loads(await asyncio.wait_for(websocket.recv(), 10))
        if "presence" in content:
            return dict(content["presence"])


@pytest.fixture
def two_beating_servers(tmp_path: Path) -> Iterator[list[Server]]:
    env = {"DJANGO_WEBSOCKET_HEARTBEAT_SECONDS": "1"}
    servers = []
    try:
        for name in ("one", "two"):
            log = tmp_path / f"{name}.log"
            servers.append(start_server("production", log, env=env))
        yield servers
    finally:
        for server in servers:
            stop_server(server.process)


async def test_a_killed_servers_members_leave_the_room_within_three_heartbeats(
    two_beating_servers: list[Server],
) -> None:
    one, two = two_beating_servers
    url = "/ws/chat/spanning/"
    async with connect(one.url + url) as here:
        others = [await connect(two.url + url) for _ in range(2)]
        count = 0
        while count != 3:  # members on both servers, counted together
            count = (await presence_news(here))["count"]
        two.process.kill()  # SIGKILL: its consumers leave nothing, tell no one
        two.process.wait()
        killed = time.monotonic()
        while count != 1:
            count = (await presence_news(here))["count"]
        # Entries live two heartbeats, and the next beat removes them: 3 s here.
        assert time.monotonic() - killed < 3 + 2, "not gone within three heartbeats"
        for other in others:
            other.transport.abort()
{%- endif %}
