"""The consumers under channels.testing, without a server."""

import asyncio
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from {{ cookiecutter.app_slug }}.consumers import MyAsyncConsumer, MySyncConsumer

CONSUMERS = [MySyncConsumer, MyAsyncConsumer]


async def connected(app: Any, path: str = "/ws/") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(app, path)
    accepted, _ = await communicator.connect()
    assert accepted
    return communicator


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.__name__)
async def test_consumer_echoes_text_and_bytes(consumer: Any) -> None:
    communicator = await connected(consumer.as_asgi())
    await communicator.send_to(text_data="hello")
    assert await communicator.receive_from() == "hello"
    await communicator.send_to(bytes_data=b"\x00\xff")
    assert await communicator.receive_output() == {
        "type": "websocket.send",
        "bytes": b"\x00\xff",
    }
    await communicator.disconnect()


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.__name__)
async def test_consumer_stops_itself_on_disconnect(consumer: Any) -> None:
    communicator = await connected(consumer.as_asgi())
    await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    # communicator.disconnect() would cancel a consumer that never stops and pass;
    # waiting on the application's future shows whether StopConsumer ended it.
    try:
        await asyncio.wait_for(asyncio.shield(communicator.future), timeout=2)
    finally:
        communicator.future.cancel()
    assert communicator.future.result() is None


async def test_async_consumer_skips_the_per_message_database_hop(
    database_hops: list[str],
) -> None:
    communicator = await connected(MyAsyncConsumer.as_asgi())
    for _ in range(3):
        await communicator.send_to(text_data="x")
        await communicator.receive_from()
    await communicator.disconnect()
    assert database_hops == []
