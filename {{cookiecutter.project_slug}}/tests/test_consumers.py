"""The consumers under channels.testing, without a server."""

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator as AsgirefCommunicator
from channels.consumer import AsyncConsumer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import path

from {{ cookiecutter.app_slug }}.consumers import (
    ChatConsumer,
    MyAsyncConsumer,
    MySyncConsumer,
)

from .rooms import next_frame

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


# -- the ORM in a consumer, with Channels' connection cleanup live ------------


class LiveCleanupCommunicator(WebsocketCommunicator):
    """A WebsocketCommunicator that leaves close_old_connections live.

    channels.testing replaces it with a no-op while it sends and receives, which
    would hide whether a consumer cleans up stale connections at all.
    """

    # asgiref's own methods, which Channels' override wraps in the no-op patch.
    async def send_input(self, message: dict[str, Any]) -> None:
        await AsgirefCommunicator.send_input(self, message)  # type: ignore[no-untyped-call]

    async def receive_output(self, timeout: float = 1) -> Any:
        return await AsgirefCommunicator.receive_output(self, timeout)  # type: ignore[no-untyped-call]


def connection_is_open() -> bool:
    # Run through sync_to_async: the thread where the async ORM keeps its connection.
    return connection.connection is not None


OPEN_AT_RECEIVE: list[bool] = []


async def use_the_async_orm() -> None:
    """Record whether the connection is open, then leave it open, as aget() does."""
    OPEN_AT_RECEIVE.append(await sync_to_async(connection_is_open)())
    await get_user_model().objects.acount()


class OrmChat(ChatConsumer):
    # Time is simulated: no cleanup comes due until the test back-dates the last one
    # (a real 0.2 s interval also expired between the handlers of one message on a
    # busy machine).
    database_cleanup_interval = 3600.0
    instances: list["OrmChat"] = []

    async def connect(self) -> None:
        OrmChat.instances.append(self)
        await super().connect()

    async def receive(
        self, text_data: Any = None, bytes_data: Any = None, **kwargs: Any
    ) -> None:
        await use_the_async_orm()
        await super().receive(text_data, bytes_data, **kwargs)


class OrmEcho(MyAsyncConsumer):
    async def websocket_receive(self, event: dict[str, Any]) -> None:
        await use_the_async_orm()
        await super().websocket_receive(event)


class OrmEchoWithoutTheMixin(OrmEcho):
    dispatch = AsyncConsumer.dispatch  # what deleting NoDatabaseDispatch gives


ORM_CASES: dict[str, tuple[type[AsyncConsumer], str, list[bool]]] = {
    # At the 2nd message (at once) and the 3rd (after the interval): is the
    # connection that the 1st message's acount() opened still open?
    "chat cleans up once the interval passed": (
        OrmChat,
        "/ws/chat/orm/",
        [True, False],
    ),
    "echo with NoDatabaseDispatch never cleans up": (OrmEcho, "/ws/ac/", [True, True]),
    "echo without the mixin cleans up every time": (
        OrmEchoWithoutTheMixin,
        "/ws/ac/",
        [False, False],
    ),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", list(ORM_CASES))
async def test_consumer_closes_what_the_async_orm_left_open(case: str) -> None:
    consumer, url, expected = ORM_CASES[case]
    # django-stubs types path() for views only; Channels routes consumers with it.
    app = URLRouter(
        [
            path("ws/chat/<str:room>/", consumer.as_asgi()),  # type: ignore[arg-type, list-item]
            path("ws/ac/", consumer.as_asgi()),  # type: ignore[arg-type, list-item]
        ]
    )
    OrmChat.instances.clear()
    communicator = LiveCleanupCommunicator(app, url)
    accepted, _ = await communicator.connect()
    assert accepted
    OPEN_AT_RECEIVE.clear()
    try:
        for number in range(3):
            if number == 2:
                # The 3rd message comes once the chat consumer's interval is over.
                for chat in OrmChat.instances:
                    assert chat.last_database_cleanup is not None
                    chat.last_database_cleanup -= chat.database_cleanup_interval * 2
            await communicator.send_to(text_data='{"message": "x"}')
            assert await next_frame(communicator)  # past the chat's presence news
            if number == 0:
                # CONN_MAX_AGE = 0, yet the async ORM left its connection open.
                assert await sync_to_async(connection_is_open)()
    finally:
        await communicator.disconnect()
    assert OPEN_AT_RECEIVE[1:] == expected
