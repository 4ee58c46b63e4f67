"""WebSocket consumers: the Channels counterpart of views.py.

Each ``websocket_*`` method handles one kind of ASGI event. MySyncConsumer and
MyAsyncConsumer echo every frame back; replace the body of ``websocket_receive``
with your own logic.
``ChatConsumer`` shows the channel layer: groups of clients, across processes.
"""

import json
import logging
import re
import time
from typing import Any

from channels.consumer import AsyncConsumer, SyncConsumer, get_handler_name
from channels.db import aclose_old_connections
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError

from . import history, presence
from .groups import GroupMember
from .push import user_group
from .queued_send import QueuedSendDispatch

Event = dict[str, Any]

logger = logging.getLogger(__name__)

# Logged with a database error: a missing table means migrate has not run.
MIGRATE = " (if a table is missing: python manage.py migrate)"

# ASCII letters, digits, "_" and "-": what Channels allows in a group name.
ROOM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def echo(event: Event) -> Event:
    """A websocket.send of the received frame, text or bytes as it came."""
    if event.get("text") is not None:
        return {"type": "websocket.send", "text": event["text"]}
    return {"type": "websocket.send", "bytes": event["bytes"]}


async def dispatch_to_handler(consumer: Any, message: Event) -> None:
    """AsyncConsumer.dispatch without its stale-connection cleanup."""
    handler = getattr(consumer, get_handler_name(message), None)
    if handler is None:
        raise ValueError(f"No handler for message type {message['type']}")
    await handler(message)


class NoDatabaseDispatch:
    """For async consumers whose handlers never touch the database: the echo ones.

    Channels' AsyncConsumer.dispatch closes stale database connections before every
    handler: a hop into the sync thread for each frame, the largest cost per
    message. This skips it. Remove this mixin as soon as a handler uses the ORM, in
    any form: Django's async ORM (aget, acreate, acount) closes nothing, so without
    the cleanup its connection outlives CONN_MAX_AGE and a broken one stays in use.
    (Use PeriodicDatabaseCleanup instead to keep most of the saving.)
    """

    async def dispatch(self, message: Event) -> None:
        await dispatch_to_handler(self, message)


class PeriodicDatabaseCleanup:
    """Channels' stale-connection cleanup, at most once a second per consumer.

    Channels closes stale database connections (past CONN_MAX_AGE, or broken)
    before every handler, one sync-thread hop per message. This closes them before
    a handler only when database_cleanup_interval seconds have passed since the
    last time; the first message starts the clock, and the generic consumers clean
    up at disconnect too. Safe with the ORM, async or not; what it costs: a
    connection outlives CONN_MAX_AGE, and a broken one keeps failing, until the
    first message after the interval. With an interval of 0 it cleans up before
    every handler but the first, as Channels does.
    """

    database_cleanup_interval = 1.0  # seconds
    last_database_cleanup: float | None = None

    async def dispatch(self, message: Event) -> None:
        now = time.monotonic()
        if self.last_database_cleanup is None:
            self.last_database_cleanup = now
        elif now - self.last_database_cleanup >= self.database_cleanup_interval:
            self.last_database_cleanup = now
            await aclose_old_connections()
        await dispatch_to_handler(self, message)


class MySyncConsumer(QueuedSendDispatch, SyncConsumer):
    """ws/sc/: handlers run in a worker thread, so blocking code (the ORM) is fine.

    QueuedSendDispatch (queued_send.py) makes self.send() return at once, the
    frames still sent in order; it closes stale database connections once a
    second rather than around every handler. Delete it for Channels' own timing.
    """

    # Echo needs no channel layer. Without one, this consumer does not listen on
    # Redis either, so it keeps working while Redis is down. Delete this line to
    # use groups (self.channel_layer) here.
    channel_layer_alias = None  # type: ignore[assignment]

    def websocket_connect(self, event: Event) -> None:
        # Called during the handshake: accept it (or close to refuse).
        self.send({"type": "websocket.accept"})

    def websocket_receive(self, event: Event) -> None:
        # event["text"] holds a text frame, event["bytes"] a binary one.
        self.send(echo(event))

    def websocket_disconnect(self, event: Event) -> None:
        # The socket is gone (client, server or network): end this consumer.
        raise StopConsumer()


class MyAsyncConsumer(NoDatabaseDispatch, AsyncConsumer):
    """ws/ac/: handlers run on the event loop; await I/O, never block."""

    channel_layer_alias = None  # type: ignore[assignment]  # see MySyncConsumer

    async def websocket_connect(self, event: Event) -> None:
        await self.send({"type": "websocket.accept"})

    async def websocket_receive(self, event: Event) -> None:
        await self.send(echo(event))

    async def websocket_disconnect(self, event: Event) -> None:
        raise StopConsumer()


class ChatConsumer(GroupMember, PeriodicDatabaseCleanup, AsyncJsonWebsocketConsumer):
    """ws/chat/<room>/: every message goes to everyone in the room, sender included.

    The channel layer carries it: in memory within one process, through Redis
    across processes. Send {"message": "..."}; receive {"id": 7, "message": "...",
    "user": "alice", "sent": "<ISO 8601 time>"} (user: null when anonymous). Each
    message is stored first (history.py): connect with ?since=<the greatest id you
    received> to get what you missed (at most CHAT_REPLAY_MAX, the latest, after
    {"history": {"truncated": true}} if there was more), or without it for the
    room's latest CHAT_HISTORY messages. Receive also
    {"presence": {"count": 2, "users": ["alice"]}} whenever someone comes or goes
    (users: the logged-in ones; count: every socket). GroupMember keeps the socket
    in its room for as long as it is open, and no longer. Each message is sent to
    every member, so its size is capped (CHAT_MESSAGE_MAX_BYTES), as is the rate of
    every client (the project's limits.py). Extend it with models freely:
    PeriodicDatabaseCleanup keeps Channels' stale-connection cleanup, once a second
    instead of once a message.
    """

    room = ""
    group = ""  # "chat_<room>" once connect() accepts the room
    presence_version = 0

    async def connect(self) -> None:
        self.replayed: set[int] = set()
        room = self.scope["url_route"]["kwargs"]["room"]
        if not ROOM_NAME.fullmatch(room):
            # Channels refuses non-ASCII group names; closing here answers 403.
            await self.close()
            return
        user = self.scope.get("user")
        if settings.CHAT_LOGIN_REQUIRED and not (user and user.is_authenticated):
            # Production's default (settings.py): 403, and a line saying why.
            logger.info("Anonymous chat refused (DJANGO_CHAT_LOGIN_REQUIRED)")
            await self.close()
            return
        try:
            since = history.parse_since(self.scope["query_string"])
        except ValueError as error:
            # Accepted only to say why: a 403 would name no reason.
            await self.accept()
            await self.send_json({"error": str(error)})
            await self.close(code=4400)
            return
        self.room, self.group = room, f"chat_{room}"
        await self.join(self.group)
        await self.join_user()
        await self.accept()
        # The backlog only now, after joining: a message stored while it is read
        # then comes live, and one in both is skipped when it comes live. Read
        # before joining, one stored in between would be in neither.
        try:
            async for frame, in_flight in history.backlog(room, since):
                if in_flight:
                    self.replayed.add(frame["id"])
                await self.send_json(frame)
        except DatabaseError as error:  # live messages still come: carry on
            logger.warning("Could not read %s's history: %r%s", room, error, MIGRATE)
            await self.send_json(
                {"error": "History unavailable: the database did not answer."}
            )
        await self.update_presence(entering=True)

    async def beat(self) -> None:
        await self.update_presence(entering=True)

    async def leave_groups(self) -> None:
        await super().leave_groups()  # first, so that the news skips this socket
        await self.update_presence(entering=False)

    async def update_presence(self, entering: bool) -> None:
        """Enter or renew this socket's presence, or leave; tell the room if that
        (or a dead socket's entry found on the way) changed who is there."""
        if not self.group:
            return
        user = self.scope.get("user")
        username = user.get_username() if user and user.is_authenticated else ""
        lifetime = presence.ENTRY_LIFETIME * settings.WEBSOCKET_HEARTBEAT
        try:
            now = await presence.update(
                self.channel_layer,
                self.group,
                self.channel_name,
                username,
                lifetime if entering else None,
            )
            if now.changed:
                event = {"type": "presence.changed", "version": now.version}
                await self.channel_layer.group_send(
                    self.group, {**event, "presence": now.members()}
                )
        except Exception as error:  # Redis away: chat goes on without presence
            logger.warning("Could not update presence in %s: %r", self.group, error)

    async def receive(
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        **kwargs: Any,
    ) -> None:
        # Parse here rather than in receive_json: a malformed frame gets an error
        # reply instead of an exception that would close the connection. Nesting
        # too deep to parse (a frame of "[" repeated) raises RecursionError, not
        # ValueError.
        try:
            content = json.loads(text_data) if text_data is not None else None
        except (ValueError, RecursionError):
            content = None
        message = content.get("message") if isinstance(content, dict) else None
        if not isinstance(message, str):
            await self.send_json({"error": 'Send a JSON object: {"message": "text"}.'})
            return
        try:
            size = len(message.encode())
        except UnicodeEncodeError:  # a lone surrogate, "\\ud800": Redis refuses it
            await self.send_json({"error": "Message is not valid text (UTF-8)."})
            return
        if size > settings.CHAT_MESSAGE_MAX_BYTES:
            limit = settings.CHAT_MESSAGE_MAX_BYTES
            await self.send_json(
                {
                    "error": f"Message too long: {size} bytes, over the limit of "
                    f"{limit} (DJANGO_CHAT_MESSAGE_MAX_BYTES). Nobody received it: "
                    "send it shorter, or in parts."
                }
            )
            return
        try:
            stored = await history.store(self.room, self.scope.get("user"), message)
        except DatabaseError as error:
            logger.warning("Could not store in %s: %r%s", self.room, error, MIGRATE)
            await self.send_json(
                {"error": "Message not sent: it could not be stored. Try again."}
            )
            return
        try:
            await self.channel_layer.group_send(
                self.group, {"type": "chat.message", **stored}
            )
        except Exception as error:  # Redis away; the message is safe in history
            logger.warning("Could not send a message to %s: %r", self.group, error)
            await self.send_json(
                {
                    "error": "Message stored, but not sent live: the channel layer "
                    "did not answer. Others get it when they next connect."
                }
            )

    async def chat_message(self, event: Event) -> None:
        # Called for each "chat.message" that group_send delivers to this consumer.
        if event["id"] in self.replayed:
            self.replayed.discard(event["id"])  # sent already, from the backlog
            return
        await self.send_json({key: event[key] for key in history.FIELDS})

    async def presence_changed(self, event: Event) -> None:
        # Changes made at once may arrive out of order: pass on only newer ones.
        if event["version"] > self.presence_version:
            self.presence_version = event["version"]
            await self.send_json({"presence": event["presence"]})

    async def push_message(self, event: Event) -> None:
        # A push to this room's group from push.py (a view, manage.py push).
        await self.send(text_data=event["text"])


class NotificationsConsumer(
    GroupMember, NoDatabaseDispatch, AsyncJsonWebsocketConsumer
):
    """ws/notifications/: every push to the logged-in user, in every open tab.

    push.py sends them: push_to_user(user, {"message": "..."}) from a view, a
    task or `manage.py push`; each arrives here as one JSON message.
    """

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Closing before accept refuses the handshake: HTTP 403.
            await self.close()
            return
        await self.join(user_group(user))
        await self.join_user()
        await self.accept()

    async def receive(
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        **kwargs: Any,
    ) -> None:
        # The socket only listens: any frame gets an error reply, and stays open.
        await self.send_json({"error": "This socket only receives notifications."})

    async def push_message(self, event: Event) -> None:
        # event["text"] is the payload, already checked and encoded by push.py.
        await self.send(text_data=event["text"])
