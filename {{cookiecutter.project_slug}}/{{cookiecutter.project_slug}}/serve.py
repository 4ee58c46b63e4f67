"""Daphne, bounding slow clients and handing its sockets over cleanly on a deploy:
`python -m {{ cookiecutter.project_slug }}.serve` takes the `daphne` command's
arguments.

Daphne gives a consumer no backpressure: what it sends to a client that does not
read piles up in the server's memory without limit (django/daphne#170). This server
cuts off a client that falls UNREAD_LIMIT bytes behind.

On SIGTERM, Daphne cancels every consumer at once and the event loop stops before
their cleanup has run: clients see their sockets drop without a close frame (1006),
and a consumer's group memberships stay behind in Redis. This server stops
listening first, closes each open WebSocket with 1001 (going away: clients
reconnect, to another replica), and gives the consumers HAND_OVER_TIMEOUT seconds
to run their disconnect code before it cancels what is left, as Daphne does.
"""

import asyncio
import logging
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet import defer

# Named, not __name__: run with -m, this module is __main__.
logger = logging.getLogger("{{ cookiecutter.project_slug }}.serve")

GOING_AWAY = 1001
# RFC 6455's close codes for a server, which Autobahn (under Daphne) refuses from
# applications, allowing only 1000 and 3000-4999: 1008 is limits.py's for a flood.
PROTOCOL_CLOSE_CODES = {1001, 1002, 1003, 1007, 1008, 1009, 1011}
# Seconds the consumers get after the close frames; well within the 10 s that
# `docker compose stop` and Kubernetes wait before they send SIGKILL.
HAND_OVER_TIMEOUT = 5.0

# Bytes a client may fall behind: sent while Twisted's buffer for it (64 KiB) was
# already full. A burst to a fast client (a backlog replayed at connect) passes:
# 4 MiB is 64 messages of the 64 KiB limit, or 4,000 of 1 KB.
UNREAD_LIMIT = 4 * 1024 * 1024


class BoundedWebSocketProtocol(WebSocketProtocol):
    """Daphne's WebSocket protocol, cutting off a client that falls too far behind,
    closing with 1001 a socket that opens while the server hands over, and letting
    the application close with RFC 6455's codes (1008).

    Twisted's transport asks its producer to pause when its send buffer is full, and
    to resume when the buffer has drained; this protocol is that producer (in place
    of the HTTP channel the connection was upgraded from) and counts what is sent
    while paused. Past UNREAD_LIMIT it drops the connection: the consumer gets
    websocket.disconnect and leaves its groups, the client sees the connection end
    (1006) and reconnects, as after a network drop.
    """

    unread = 0  # bytes sent since the transport last paused
    paused = False
    dropped = False

    def connectionMade(self) -> None:
        super().connectionMade()
        self.transport.unregisterProducer()
        self.transport.registerProducer(self, True)

    def onOpen(self) -> None:
        super().onOpen()
        if self.server.handing_over:
            self.sendCloseFrame(code=GOING_AWAY)

    def serverClose(self, code: int | None = None) -> None:
        if code in PROTOCOL_CLOSE_CODES:
            self.sendCloseFrame(code=code)
        else:
            super().serverClose(code)

    def pauseProducing(self) -> None:
        # Twisted asks again on every write while the buffer stays full.
        if not self.paused:
            self.paused, self.unread = True, 0

    def resumeProducing(self) -> None:
        self.paused = False

    def stopProducing(self) -> None:
        pass

    def serverSend(self, content: str | bytes, binary: bool = False) -> None:
        if self.dropped:
            return  # its websocket.disconnect is on the way to the consumer
        if self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            # The client closed while a frame for it was on its way (a room's
            # news): Autobahn would raise Disconnected into the consumer, a
            # traceback for a frame no one can receive (django/channels#1820).
            return
        super().serverSend(content, binary)
        if self.paused:
            self.unread += len(content)
            if self.unread > UNREAD_LIMIT:
                logger.warning(
                    "Cut off %s: more than %d bytes behind", self.peer, UNREAD_LIMIT
                )
                self.dropped = True
                self.dropConnection(abort=True)


class HandOverServer(Server):
    """Daphne's Server, with bounded WebSockets and hand_over() at shutdown."""

    ports: tuple[Any, ...] = ()  # what it listens on, to stop at the hand-over
    handing_over = False

    # Server.run() makes its WebSocket factory itself: give it this protocol then.
    @property
    def ws_factory(self) -> WebSocketFactory:
        return self.bounded_ws_factory

    @ws_factory.setter
    def ws_factory(self, factory: WebSocketFactory) -> None:
        factory.protocol = BoundedWebSocketProtocol
        self.bounded_ws_factory = factory

    def listen_success(self, port: Any) -> None:
        self.ports = (*self.ports, port)
        super().listen_success(port)

    def kill_all_applications(self) -> defer.Deferred[None]:
        # Twisted runs this before it stops, and waits for the Deferred.
        return defer.Deferred.fromFuture(asyncio.ensure_future(self.hand_over()))

    async def hand_over(self) -> None:
        self.handing_over = True  # a socket that opens from now on is closed too
        sockets = []
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            # No new connections: a client that reconnects at once must reach a
            # server that stays.
            for port in self.ports:
                await defer.maybeDeferred(port.stopListening).asFuture(loop)
            sockets = [
                protocol
                for protocol in self.connections
                if isinstance(protocol, WebSocketProtocol)
                and protocol.state == protocol.STATE_OPEN
            ]
            for protocol in sockets:
                # Autobahn's sendClose() takes only 1000 and 3000-4999, the codes
                # an application may send; 1001 is the server's to send.
                protocol.sendCloseFrame(code=GOING_AWAY)
            running = self.running_applications()
            if running:
                await asyncio.wait(running, timeout=HAND_OVER_TIMEOUT)
        finally:
            left = self.running_applications()
            for application in left:
                application.cancel()
            await asyncio.gather(*left, return_exceptions=True)
            logger.info(
                "Closed %d sockets with %d; after %.1f s, cancelled %d consumers "
                "still running",
                len(sockets),
                GOING_AWAY,
                loop.time() - started,
                len(left),
            )

    def running_applications(self) -> list[asyncio.Future[None]]:
        # An entry whose application ended has no "application_instance" left.
        return [
            application
            for details in self.connections.values()
            if (application := details.get("application_instance")) is not None
            and not application.done()
        ]


class HandOverCommandLine(CommandLineInterface):
    server_class = HandOverServer


if __name__ == "__main__":
    HandOverCommandLine.entrypoint()
