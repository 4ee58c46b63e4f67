"""QueuedSendDispatch (MySyncConsumer's): each guarantee of Channels' that it keeps."""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.consumer import SyncConsumer
from django.contrib.auth import get_user_model
from websockets.asyncio.client import connect

from {{ cookiecutter.app_slug }}.consumers import MySyncConsumer

from .servers import Server, running_server
from .test_consumers import LiveCleanupCommunicator, connection_is_open

Event = dict[str, Any]
Send = Callable[[Event], Awaitable[None]]
CONNECT: Event = {"type": "websocket.connect"}
DISCONNECT: Event = {"type": "websocket.disconnect", "code": 1000}


def text(value: str) -> Event:
    return {"type": "websocket.receive", "text": value}


async def serve(consumer: type[SyncConsumer], events: list[Event], send: Send) -> None:
    """Run the consumer to its end on these events, as a server would (5 s at most)."""
    queue: asyncio.Queue[Event] = asyncio.Queue()
    for event in events:
        queue.put_nowait(event)
    scope = {"type": "websocket", "path": "/ws/sc/"}
    app: Any = consumer.as_asgi()  # typed for a server's scope and events
    await asyncio.wait_for(app(scope, queue.get, send), timeout=5)


class ThreeFrames(MySyncConsumer):
    """Three sends per handler: their order is the mixin's, not the server's."""

    def websocket_receive(self, event: Event) -> None:
        for part in range(3):
            self.send({"type": "websocket.send", "text": f"{event['text']}.{part}"})


# -- order ------------------------------------------------------------------


async def test_frames_leave_in_the_order_the_handlers_sent_them() -> None:
    received: dict[int, list[str]] = {}

    def jittery_send(number: int) -> Send:
        # A server's send may wait (Uvicorn's, for a writable socket) a varying
        # number of loop turns: frames sent each on their own would overtake.
        turns = random.Random(number)

        async def send(message: Event) -> None:
            for _ in range(turns.randrange(4)):
                await asyncio.sleep(0)
            if message["type"] == "websocket.send":
                received[number].append(message["text"])

        return send

    messages = [str(n) for n in range(30)]
    events = [CONNECT, *map(text, messages), DISCONNECT]
    sockets = range(20)
    for number in sockets:
        received[number] = []
    await asyncio.gather(
        *(serve(ThreeFrames, events, jittery_send(number)) for number in sockets)
    )
    expected = [f"{message}.{part}" for message in messages for part in range(3)]
    for number in sockets:
        assert received[number] == expected, f"socket {number}"


@pytest.fixture(scope="module")
def unlimited_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # The rate limit off: the test floods each socket on purpose.
    log = tmp_path_factory.mktemp("queued") / "server.log"
    env = {"DJANGO_WEBSOCKET_MESSAGES_PER_SECOND": "0"}
    with running_server("production", log, env=env) as server:
        yield server


async def test_production_server_echoes_every_frame_in_order_on_many_sockets(
    unlimited_server: Server,
) -> None:
    frames = [f"frame {n}" for n in range(200)]

    async def one(number: int) -> list[str]:
        async with connect(unlimited_server.url + "/ws/sc/", open_timeout=30) as ws:
            # All at once, before reading: handlers and sends overlap.
            for frame in frames:
                await ws.send(f"{number} {frame}")
            return [str(await asyncio.wait_for(ws.recv(), 30)) for _ in frames]

    echoes = await asyncio.gather(*(one(number) for number in range(50)))
    for number, echoed in enumerate(echoes):
        assert echoed == [f"{number} {frame}" for frame in frames]


# -- errors -----------------------------------------------------------------


class ClientGone(OSError):
    """What Uvicorn raises on a send to a client that left (ClientDisconnected)."""


@pytest.mark.parametrize(
    ("error", "level"),
    [(ClientGone(), logging.WARNING), (RuntimeError("bad frame"), logging.ERROR)],
    ids=["client gone", "refused frame"],
)
async def test_a_failed_send_is_logged_once_and_stops_the_consumer(
    error: Exception, level: int, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[Event] = []

    async def send(message: Event) -> None:
        attempts.append(message)
        if message["type"] != "websocket.accept":
            raise error

    events = [CONNECT, text("a"), text("b"), text("c")]  # and no disconnect
    with caplog.at_level(logging.WARNING, logger="{{ cookiecutter.app_slug }}"):
        # Ends by itself, without the disconnect: serve() fails if it does not.
        await serve(ThreeFrames, events, send)
    records = [r for r in caplog.records if "could not send" in r.getMessage()]
    assert [record.levelno for record in records] == [level]
    # The first frame failed, the rest of that handler's were dropped, no later
    # message was handled; the socket was closed in case it was still open.
    assert [m["type"] for m in attempts] == [
        "websocket.accept",
        "websocket.send",
        "websocket.close",
    ]


# -- StopConsumer -----------------------------------------------------------


class CloseThenStop(MySyncConsumer):
    def websocket_disconnect(self, event: Event) -> None:
        self.send({"type": "websocket.send", "text": "bye"})
        super().websocket_disconnect(event)  # raise StopConsumer()


async def test_stop_consumer_ends_it_after_its_last_frames() -> None:
    sent: list[Event] = []

    async def send(message: Event) -> None:
        await asyncio.sleep(0)
        sent.append(message)

    # serve() fails unless StopConsumer ends the consumer, message left or not.
    await serve(CloseThenStop, [CONNECT, text("x"), DISCONNECT, text("y")], send)
    assert [m.get("text") for m in sent] == [None, "x", "bye"]


# -- stale database connections ---------------------------------------------

OPEN_AT_RECEIVE: list[bool] = []


class OrmSync(MySyncConsumer):
    # Time is simulated: no cleanup comes due until the test back-dates the last.
    database_cleanup_interval = 3600.0
    instances: list["OrmSync"] = []

    def websocket_connect(self, event: Event) -> None:
        OrmSync.instances.append(self)
        super().websocket_connect(event)

    def websocket_receive(self, event: Event) -> None:
        # In the handler's thread, where the sync ORM keeps its connection.
        OPEN_AT_RECEIVE.append(connection_is_open())
        get_user_model().objects.count()
        super().websocket_receive(event)


class OrmSyncAsChannels(OrmSync):
    # What deleting QueuedSendDispatch gives. From __dict__: SyncConsumer.dispatch
    # is a descriptor, and reading it from the class binds it to no consumer.
    dispatch = SyncConsumer.__dict__["dispatch"]
    send = SyncConsumer.send  # type: ignore[assignment]


SYNC_ORM_CASES: dict[str, tuple[type[OrmSync], list[bool]]] = {
    # At the 2nd message (at once) and the 3rd (after the interval): is the
    # connection that the 1st message's count() opened still open?
    "QueuedSendDispatch cleans up once the interval passed": (OrmSync, [True, False]),
    "Channels' SyncConsumer cleans up around every handler": (
        OrmSyncAsChannels,
        [False, False],
    ),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", list(SYNC_ORM_CASES))
async def test_sync_consumer_closes_what_the_orm_left_open(case: str) -> None:
    consumer, expected = SYNC_ORM_CASES[case]
    OrmSync.instances.clear()
    OPEN_AT_RECEIVE.clear()
    communicator = LiveCleanupCommunicator(consumer.as_asgi(), "/ws/sc/")
    accepted, _ = await communicator.connect()
    assert accepted
    try:
        for number in range(3):
            if number == 2:
                for instance in OrmSync.instances:
                    if instance.last_database_cleanup is not None:  # not Channels'
                        instance.last_database_cleanup -= 7200
            await communicator.send_to(text_data="x")
            assert await communicator.receive_from() == "x"
        await communicator.send_input(DISCONNECT)
        await asyncio.wait_for(communicator.future, timeout=5)  # StopConsumer
    finally:
        await communicator.disconnect()
    assert OPEN_AT_RECEIVE[1:] == expected
    # And the consumer's last handler returned what it held: closed at the end.
    assert not await sync_to_async(connection_is_open)()


def test_sync_handlers_run_off_the_event_loop() -> None:
    # The ORM blocks: asgiref's thread-sensitive thread runs it, as in Channels.
    seen: list[bool] = []

    class Probe(MySyncConsumer):
        def websocket_receive(self, event: Event) -> None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                seen.append(True)  # no loop in this thread
            else:
                seen.append(False)
            super().websocket_receive(event)

    async def send(message: Event) -> None:
        pass

    asyncio.run(serve(Probe, [CONNECT, text("x"), DISCONNECT], send))
    assert seen == [True]
