"""WebSocket consumers: the Channels counterpart of views.py.

Each ``websocket_*`` method handles one kind of ASGI event. Both consumers echo
every frame back; replace the body of ``websocket_receive`` with your own logic.
"""

from typing import Any

from channels.consumer import AsyncConsumer, SyncConsumer
from channels.exceptions import StopConsumer

Event = dict[str, Any]


def echo(event: Event) -> Event:
    """A websocket.send of the received frame, text or bytes as it came."""
    if event.get("text") is not None:
        return {"type": "websocket.send", "text": event["text"]}
    return {"type": "websocket.send", "bytes": event["bytes"]}


class MySyncConsumer(SyncConsumer):
    """ws/sc/: handlers run in a worker thread, so blocking code (the ORM) is fine."""

    def websocket_connect(self, event: Event) -> None:
        # Called during the handshake: accept it (or close to refuse).
        self.send({"type": "websocket.accept"})

    def websocket_receive(self, event: Event) -> None:
        # event["text"] holds a text frame, event["bytes"] a binary one.
        self.send(echo(event))

    def websocket_disconnect(self, event: Event) -> None:
        # The socket is gone (client, server or network): end this consumer.
        raise StopConsumer()


class MyAsyncConsumer(AsyncConsumer):
    """ws/ac/: handlers run on the event loop; await I/O, never block."""

    async def websocket_connect(self, event: Event) -> None:
        await self.send({"type": "websocket.accept"})

    async def websocket_receive(self, event: Event) -> None:
        await self.send(echo(event))

    async def websocket_disconnect(self, event: Event) -> None:
        raise StopConsumer()
