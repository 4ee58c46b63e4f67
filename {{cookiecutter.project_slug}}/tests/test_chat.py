"""The chat room: a group on the channel layer, under channels.testing."""

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from {{ cookiecutter.project_slug }}.asgi import application

from .rooms import next_json

# The chat stores each message (history.py), from the consumer's own thread.
pytestmark = pytest.mark.django_db(transaction=True)


async def join(room: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/chat/{room}/")
    accepted, _ = await communicator.connect()
    assert accepted
    # The room's news of this socket's arrival comes first.
    assert "presence" in await communicator.receive_json_from(timeout=5)
    return communicator


async def test_everyone_in_the_room_receives_a_message_and_no_one_else() -> None:
    alice, bob, carol = await join("lobby"), await join("lobby"), await join("other")
    try:
        await alice.send_json_to({"message": "hi all"})
        assert (await next_json(alice))["message"] == "hi all"
        assert (await next_json(bob))["message"] == "hi all"
        assert await carol.receive_nothing(timeout=0.5)
    finally:
        for communicator in (alice, bob, carol):
            await communicator.disconnect()


@pytest.mark.parametrize(
    "frame",
    [
        {"text_data": "not json"},
        {"text_data": "[1, 2]"},
        {"text_data": '{"message": 5}'},
        {"text_data": '{"text": "wrong key"}'},
        {"bytes_data": b'{"message": "as bytes"}'},
    ],
    ids=["not-json", "array", "number", "no-message", "binary"],
)
async def test_bad_frame_gets_an_error_and_the_connection_stays_open(
    frame: dict[str, Any],
) -> None:
    alice = await join("errors")
    try:
        await alice.send_to(**frame)
        assert "error" in await alice.receive_json_from(timeout=5)
        await alice.send_json_to({"message": "still open"})
        assert (await next_json(alice))["message"] == "still open"
    finally:
        await alice.disconnect()


@pytest.mark.parametrize("room", ["café", "a" * 65, "semi;colon", "dot.ted"])
async def test_bad_room_name_is_refused_at_connect(room: str) -> None:
    communicator = WebsocketCommunicator(application, f"/ws/chat/{room}/")
    accepted, _ = await communicator.connect()
    assert not accepted


async def test_chat_skips_the_per_message_database_hop(
    database_hops: list[str],
) -> None:
    alice = await join("hops")
    for _ in range(3):
        await alice.send_json_to({"message": "x"})
        await alice.receive_json_from(timeout=5)
    await alice.disconnect()
    assert database_hops == []
