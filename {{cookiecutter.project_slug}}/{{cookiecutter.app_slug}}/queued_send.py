"""QueuedSendDispatch: Channels' SyncConsumer at a fraction of its cost per message.

consumers.py uses it for MySyncConsumer; so do the consumers startconsumer --sync adds.
"""

import asyncio
import logging
import time
from collections import deque
from typing import Any

from asgiref.sync import SyncToAsync
from channels.consumer import SyncConsumer, get_handler_name
from channels.exceptions import StopConsumer
from django.db import close_old_connections

Event = dict[str, Any]

logger = logging.getLogger(__name__)


class QueuedSendDispatch(SyncConsumer):
    """For SyncConsumer: self.send() queues the frame instead of waiting for it.

    What it does differently from Channels' SyncConsumer, and why that is safe:

    - Sends. Channels' self.send() blocks the handler's thread until the event loop
      has passed the frame to the server (async_to_sync: two more thread hops per
      frame). Here it hands the frame to the loop (call_soon_threadsafe) and
      returns. The loop appends it to this consumer's queue, which one task sends
      in order: frames go out in the order the handler sent them, by construction.
      The handler's dispatch waits until its frames are sent before the next
      message is dispatched, so the queue never holds more than one handler's
      frames, and a slow client holds up its own consumer, not the thread that
      every sync consumer shares.
    - Failed sends. Channels raises the error in the handler. Here the handler has
      moved on by then: the first failure is logged once (a warning when the client
      is gone, an error with its traceback otherwise), the frames queued after it
      are dropped, the socket is closed (1011) if it is still open, and the
      consumer stops cleanly after the current handler, as StopConsumer does.
    - Database. Channels closes stale connections (past CONN_MAX_AGE, or broken)
      before and after every handler. Here they are closed before a handler when
      database_cleanup_interval seconds have passed since the last time (and
      before the first), and after the last handler (the one that raises
      StopConsumer). What it costs: a connection a handler opened stays open, past
      CONN_MAX_AGE, until the next cleanup comes due or the consumer ends; a
      broken one keeps failing until then. With an interval of 0 it cleans up
      before every handler, as Channels does (but not after).

    Unchanged: handlers run in the same thread as Channels' (thread-sensitive
    sync_to_async, shared by every sync consumer), so blocking code and the ORM
    stay off the event loop; async_to_sync() works in a handler; an exception in
    a handler propagates as in Channels; raise StopConsumer() ends the consumer.
    Call self.send() from a handler only (not from threads a handler starts).
    """

    database_cleanup_interval = 1.0  # seconds
    last_database_cleanup: float | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.send_loop = asyncio.get_running_loop()
        self.server_send = send  # AsyncConsumer keeps only an async_to_sync() of it
        self.outbox: deque[Event] = deque()
        self.sender: asyncio.Task[None] | None = None
        self.send_failed = False
        # Thread-sensitive, as Channels' database_sync_to_async: the one thread
        # that every sync consumer's handlers share.
        self.run_handler = SyncToAsync(self.handle)
        await super().__call__(scope, receive, send)

    # Sync over AsyncConsumer's async send, as the stubs' own SyncConsumer.send.
    def send(self, message: Event) -> None:  # type: ignore[override]
        # In the handler's thread: no waiting for the loop.
        self.send_loop.call_soon_threadsafe(self.queue_send, message)

    def queue_send(self, message: Event) -> None:
        # On the loop, in the order the handler called send().
        if self.send_failed:
            return
        self.outbox.append(message)
        if self.sender is None:
            self.sender = self.send_loop.create_task(self.send_queued())

    async def send_queued(self) -> None:
        try:
            while self.outbox:
                message = self.outbox[0]
                try:
                    await self.server_send(message)
                except Exception as error:
                    self.fail(message, error)
                    await self.close_after_failure()
                    return
                self.outbox.popleft()
        finally:
            self.sender = None

    def fail(self, message: Event, error: Exception) -> None:
        self.send_failed = True
        self.outbox.clear()
        path = getattr(self, "scope", {}).get("path", "?")
        what = (
            f"{type(self).__name__} at {path} could not send {message['type']}; "
            "its later frames are dropped and the consumer stops"
        )
        if isinstance(error, OSError):  # the client is gone (Uvicorn: OSError)
            logger.warning("%s: %r", what, error)
        else:
            logger.error(what, exc_info=error)

    async def close_after_failure(self) -> None:
        try:
            await self.server_send({"type": "websocket.close", "code": 1011})
        except Exception:  # already closed, or the client gone: nothing to close
            return

    async def dispatch(self, message: Event) -> None:
        try:
            await self.run_handler(message)
        finally:
            # Frames of this handler out before the next message, or the end.
            if self.sender is not None:
                await self.sender
        if self.send_failed:
            raise StopConsumer()

    def handle(self, message: Event) -> None:
        """In the handler's thread: what Channels' SyncConsumer.dispatch does, with
        the stale-connection cleanup at an interval."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        now = time.monotonic()
        last = self.last_database_cleanup
        if last is None or now - last >= self.database_cleanup_interval:
            self.last_database_cleanup = now
            close_old_connections()
        try:
            handler(message)
        except StopConsumer:
            close_old_connections()  # the consumer's last handler
            raise
