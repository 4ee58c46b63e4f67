"""Chat history: store each message, then replay what a reconnecting client missed.

A client connects to ws/chat/<room>/?since=<id>, the greatest id it saw, and first
gets every stored message of the room with a greater id, in order (at most
CHAT_REPLAY_MAX, settings.py); without since, the last CHAT_HISTORY. ChatConsumer
joins the room's group before it reads the backlog, so a message stored meanwhile
comes live if not in the backlog, and is sent once if in both (the consumer skips
the replayed ids).
"""

import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from django.conf import settings
from django.utils import timezone

from .models import ChatMessage

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

# An id: ASCII digits, as many as a 64-bit primary key has at most.
ID = re.compile(r"[0-9]{1,19}")
# Rows read from the database at a time while replaying: a client that asks for a
# long history is sent it in chunks, never held in memory at once.
CHUNK = 500
# A replayed message stored this recently may still be on its way live (its group
# send came just before or after the client joined): the consumer skips that copy.
# Older ones were sent long before, so it need not remember their ids.
IN_FLIGHT = dt.timedelta(seconds=60)


def parse_since(query_string: bytes) -> int | None:
    """The since=<id> of a handshake's query string; None without one.

    ValueError, with a message for the client, if it is not one whole number.
    """
    query = parse_qs(query_string.decode("latin-1"), keep_blank_values=True)
    values = query.get("since")
    if values is None:
        return None
    if len(values) != 1 or not ID.fullmatch(values[0]):
        given = "&".join(f"since={value}" for value in values)
        raise ValueError(
            f"{given[:80]!r} is not an id: give the id of the last message you "
            "received (a whole number, 0 or more), or leave since out for the "
            "room's latest messages."
        )
    return int(values[0])


# What a client receives of a message, live or replayed.
FIELDS = ("id", "message", "user", "sent")


def as_sent(message: ChatMessage, author: str | None) -> dict[str, Any]:
    """What a client receives, live or replayed."""
    return {
        "id": message.pk,
        "message": message.text,
        "user": author,
        "sent": message.sent.isoformat(),
    }


async def store(
    room: str, user: "AbstractBaseUser | AnonymousUser | None", text: str
) -> dict[str, Any]:
    """Store a message first, so that no one who reconnects later can miss it."""
    author = user if user is not None and user.is_authenticated else None
    message = await ChatMessage.objects.acreate(
        room=room, author_id=author.pk if author else None, text=text
    )
    return as_sent(message, author.get_username() if author else None)


async def backlog(
    room: str, since: int | None
) -> AsyncIterator[tuple[dict[str, Any], bool]]:
    """The frames a connecting client gets first, each with whether it may still be
    in flight (IN_FLIGHT): the room's messages after since, oldest first, at most
    CHAT_REPLAY_MAX of them (the latest, after {"history": {"truncated": true}} if
    there were more); without since, its latest CHAT_HISTORY."""
    messages = ChatMessage.objects.filter(room=room)
    if since is not None:
        messages = messages.filter(id__gt=since)
    limit = settings.CHAT_HISTORY if since is None else settings.CHAT_REPLAY_MAX
    # The newest message left out, if any: the replay starts after it.
    newest_first = messages.order_by("-id").values_list("id", flat=True)
    left_out = [pk async for pk in newest_first[limit : limit + 1]]
    after = left_out[0] if left_out else -1
    if left_out and since is not None:
        yield {"history": {"truncated": True}}, False
    recent = timezone.now() - IN_FLIGHT
    while True:
        # One query a chunk, from the last id sent: no cursor stays open between
        # trips to the database thread, where another socket's cleanup may close
        # the connection (PeriodicDatabaseCleanup).
        chunk = messages.filter(id__gt=after).order_by("id").select_related("author")
        rows = [message async for message in chunk[:CHUNK]]
        for message in rows:
            yield as_sent(message, username(message)), message.sent > recent
        if len(rows) < CHUNK:
            return
        after = rows[-1].pk


def username(message: ChatMessage) -> str | None:
    return message.author.get_username() if message.author else None
