"""Nothing lost across reconnects: each chat message is stored with an id, and a
client that comes back with ?since=<id> gets what it missed, once (history.py)."""

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.utils import timezone
from websockets.asyncio.client import ClientConnection, connect

from {{ cookiecutter.app_slug }} import history
from {{ cookiecutter.app_slug }}.consumers import ChatConsumer
from {{ cookiecutter.app_slug }}.models import ChatMessage

from .rooms import next_in_room, next_json
from .servers import start_server, stop_server

# The consumer stores from its own thread: the test's transaction would hide it.
pytestmark = pytest.mark.django_db(transaction=True)


async def join(room: str, query: str = "") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        ChatConsumer.as_asgi(), f"/ws/chat/{room}/{query}"
    )
    scope: Any = communicator.scope
    scope["url_route"] = {"kwargs": {"room": room}}  # as URLRouter hands it over
    accepted, _ = await communicator.connect()
    assert accepted
    return communicator


async def replayed(communicator: WebsocketCommunicator) -> list[Any]:
    """What the socket got before the room's news of its own arrival: the replay,
    each message's text, or the frame itself if it is not a message."""
    texts = []
    while "presence" not in (frame := await communicator.receive_json_from(timeout=5)):
        texts.append(frame.get("message", frame))
    return texts


async def say(communicator: WebsocketCommunicator, text: str) -> dict[str, Any]:
    """Send a message and wait for the room's copy of it."""
    await communicator.send_json_to({"message": text})
    heard = await next_json(communicator)
    assert heard["message"] == text, heard
    return dict(heard)


async def said_elsewhere(room: str, text: str) -> dict[str, Any]:
    """A message from a client on another server: stored, then sent to the room."""
    stored = await history.store(room, None, text)
    layer: Any = get_channel_layer()
    await layer.group_send(f"chat_{room}", {"type": "chat.message", **stored})
    return stored


def close_connection() -> None:
    """What a cleanup does to a connection past CONN_MAX_AGE (0: after each use)."""
    connection.close()


async def test_a_message_is_stored_and_sent_with_its_id() -> None:
    alice = await join("stored")
    assert await replayed(alice) == []
    first, second = await say(alice, "one"), await say(alice, "two")
    await alice.disconnect()
    assert first["id"] < second["id"]
    assert first["user"] is None  # anonymous
    assert dt.datetime.fromisoformat(first["sent"]) <= timezone.now()
    stored = [m async for m in ChatMessage.objects.filter(room="stored").values()]
    assert [(m["id"], m["text"]) for m in stored] == [
        (first["id"], "one"),
        (second["id"], "two"),
    ]


async def test_a_client_back_with_since_gets_what_it_missed_then_live_ones_once() -> (
    None
):
    alice = await join("missed")
    await replayed(alice)
    seen = await say(alice, "seen")
    await alice.disconnect()
    bob = await join("missed")
    await replayed(bob)
    for text in ("missed 1", "missed 2"):
        await say(bob, text)
    alice = await join("missed", f"?since={seen['id']}")
    assert await replayed(alice) == ["missed 1", "missed 2"]
    await say(bob, "live")
    assert (await next_json(alice))["message"] == "live"
    assert await alice.receive_nothing(timeout=0.5)  # and only once
    await asyncio.gather(alice.disconnect(), bob.disconnect())


async def test_without_since_a_client_gets_the_latest_chat_history(
    settings: Any,
) -> None:
    settings.CHAT_HISTORY = 2
    alice = await join("latest")
    await replayed(alice)
    for text in ("1", "2", "3"):
        await say(alice, text)
    bob = await join("latest")
    assert await replayed(bob) == ["2", "3"]  # the last two, oldest first
    settings.CHAT_HISTORY = 0
    carol = await join("latest")
    assert await replayed(carol) == []
    await asyncio.gather(*(c.disconnect() for c in (alice, bob, carol)))


async def test_a_replay_sends_at_most_chat_replay_max_the_latest(
    settings: Any,
) -> None:
    settings.CHAT_REPLAY_MAX = 2
    first, *_ = [await said_elsewhere("capped", text) for text in ("1", "2", "3")]
    alice = await join("capped", "?since=0")
    # The gap said first, so that a page can show that earlier ones are missing.
    assert await replayed(alice) == [{"history": {"truncated": True}}, "2", "3"]
    bob = await join("capped", f"?since={first['id']}")  # two missed: both
    assert await replayed(bob) == ["2", "3"]
    await asyncio.gather(alice.disconnect(), bob.disconnect())


async def test_a_replay_longer_than_a_chunk_survives_a_cleanup_between_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Another socket's PeriodicDatabaseCleanup may close the shared connection
    # between two reads of a replay: each chunk must be a query of its own.
    monkeypatch.setattr(history, "CHUNK", 2)
    for n in range(5):
        await said_elsewhere("chunks", str(n))
    texts = []
    async for frame, _ in history.backlog("chunks", 0):
        texts.append(frame["message"])
        await sync_to_async(close_connection)()
    assert texts == ["0", "1", "2", "3", "4"]


async def test_history_unavailable_is_said_and_live_messages_still_come(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def no_table(
        room: str, since: int | None
    ) -> AsyncIterator[tuple[dict[str, Any], bool]]:
        raise OperationalError("no such table: chat history")  # as before migrate
        yield {}, False

    monkeypatch.setattr(history, "backlog", no_table)
    alice = await join("no-history")
    reply = await alice.receive_json_from(timeout=5)
    assert reply == {"error": "History unavailable: the database did not answer."}
    assert "manage.py migrate" in caplog.text  # the log says what to do
    await replayed(alice)
    await say(alice, "live all the same")
    await alice.disconnect()


async def test_since_reads_only_its_own_room() -> None:
    await said_elsewhere("elsewhere", "not for this room")
    alice = await join("own", "?since=0")
    assert await replayed(alice) == []
    await alice.disconnect()


@pytest.mark.parametrize(
    "query",
    ["?since=abc", "?since=-1", "?since=1.5", "?since=", "?since=1&since=2"]
    + ["?since=٣", "?since=" + "9" * 20],
)
async def test_a_bad_since_gets_an_error_naming_it_then_a_close(query: str) -> None:
    alice = await join("bad-since", query)
    reply = await alice.receive_json_from(timeout=5)
    assert "is not an id" in reply["error"] and "since" in reply["error"], reply
    closed = await alice.receive_output(timeout=5)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4400)


@pytest.mark.parametrize("stored", ["before", "after"])
async def test_a_message_stored_during_the_handshake_arrives_exactly_once(
    stored: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "after": stored just after the backlog is read. It comes live only because the
    # socket joined the room first; read before joining, it would be lost.
    # "before": in the backlog and on its way live: sent once all the same.
    backlog = history.backlog

    async def backlog_with_a_message_meanwhile(
        room: str, since: int | None
    ) -> AsyncIterator[tuple[dict[str, Any], bool]]:
        if stored == "before":
            await said_elsewhere(room, "meanwhile")
        messages = [message async for message in backlog(room, since)]
        if stored == "after":
            await said_elsewhere(room, "meanwhile")
        for message in messages:
            yield message

    monkeypatch.setattr(history, "backlog", backlog_with_a_message_meanwhile)
    alice = await join("handshake", "?since=0")
    texts = await replayed(alice)
    await alice.send_json_to({"message": "marker"})  # a second copy comes before it
    while (frame := await next_json(alice))["message"] != "marker":
        texts.append(frame["message"])
    assert texts == ["meanwhile"]
    await alice.disconnect()


def test_prunemessages_deletes_what_is_older_than_the_days_given(
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = ChatMessage.objects.create(room="r", text="a")
    ChatMessage.objects.create(room="r", text="b")
    ChatMessage.objects.filter(pk=old.pk).update(
        sent=timezone.now() - dt.timedelta(days=31)
    )
    call_command("prunemessages", "--older-than", "30")
    assert list(ChatMessage.objects.values_list("text", flat=True)) == ["b"]
    output = capsys.readouterr().out.splitlines()
    assert len(output) == 1 and output[0].startswith("Deleted 1 chat message sent")


@pytest.mark.parametrize("days", ["-1", "soon"])
def test_prunemessages_refuses_a_bad_number_of_days(days: str) -> None:
    ChatMessage.objects.create(room="r", text="kept")
    with pytest.raises(CommandError, match="older.than"):
        call_command("prunemessages", "--older-than", days)
    assert ChatMessage.objects.count() == 1


async def texts_until(websocket: ClientConnection, marker: str) -> list[str]:
    """Chat messages received, up to and without the one saying marker."""
    texts = []
    while (text := (await next_in_room(websocket))["message"]) != marker:
        texts.append(text)
    return texts


async def test_a_client_back_after_its_server_restarted_gets_what_it_missed(
    tmp_path: Path,
) -> None:
    # Both servers on the session's database (conftest.py's servers_database).
    server = start_server("production", tmp_path / "first.log")
    try:
        async with connect(server.url + "/ws/chat/restart/") as alice:
            await alice.send(json.dumps({"message": "before the restart"}))
            last_seen = (await next_in_room(alice))["id"]
    finally:
        stop_server(server.process)
    server = start_server("production", tmp_path / "second.log")
    try:
        async with connect(server.url + "/ws/chat/restart/") as bob:
            for text in ("while alice was away", "marker"):
                await bob.send(json.dumps({"message": text}))
            await texts_until(bob, "marker")  # stored, and sent
        url = f"{server.url}/ws/chat/restart/?since={last_seen}"
        async with connect(url) as alice:
            assert await texts_until(alice, "marker") == ["while alice was away"]
            await alice.send(json.dumps({"message": "back"}))
            assert await texts_until(alice, "back") == []  # nothing twice
    finally:
        stop_server(server.process)
