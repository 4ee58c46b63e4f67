"""Group memberships that live exactly as long as their socket: kept, then left.

A channel layer forgets a membership after its group_expiry (settings.py), and a
Redis that restarts without its data forgets them all at once: a socket that joined
at connect and did nothing more would stop receiving, silently. And a server does
not always call disconnect(): when a send fails because the client has gone,
Uvicorn ends the consumer without it (django/channels#1466), and every later
group_send would go on targeting the ghost.
"""

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from channels.consumer import AsyncConsumer
from channels.layers import BaseChannelLayer
from django.conf import settings

from .access import session_group, user_sockets_group

logger = logging.getLogger(__name__)


class GroupMember:
    """Mix into an async consumer, before the Channels class: join() a group, and
    the membership is renewed every WEBSOCKET_HEARTBEAT seconds and left on every
    way out (a close, a failed send, a server stop), disconnect() or not."""

    # What the Channels consumer this is mixed into provides.
    channel_layer: BaseChannelLayer
    channel_name: str
    scope: Any
    if TYPE_CHECKING:

        async def close(
            self, code: int | bool | None = None, reason: str | None = None
        ) -> None: ...

    groups_joined: set[str]
    heartbeat: asyncio.Task[None] | None = None

    async def join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.add(group)
        if self.heartbeat is None:
            self.heartbeat = asyncio.create_task(self.renew_memberships())

    async def join_user(self) -> None:
        """For a logged-in scope["user"]: join the groups that access.py closes at
        the end of the user's access (a logout ends this session's sockets)."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return
        await self.join(user_sockets_group(user.pk))
        session = self.scope.get("session")
        if session is not None and session.session_key:
            await self.join(session_group(session.session_key))

    async def access_ended(self, event: dict[str, Any]) -> None:
        await self.close(code=event["code"])

    async def renew_memberships(self) -> None:
        while True:
            await asyncio.sleep(settings.WEBSOCKET_HEARTBEAT)
            for group in list(self.groups_joined):
                try:
                    await self.channel_layer.group_add(group, self.channel_name)
                except Exception as error:  # Redis away: try again next beat
                    logger.warning("Could not renew %s: %r", group, error)
            await self.beat()

    async def beat(self) -> None:
        """Called every heartbeat, after the renewals: renew what else the socket
        holds (ChatConsumer: its presence in the room)."""

    async def leave(self, group: str) -> None:
        """Leave one group for good (a socket that changes rooms): the heartbeat
        would add a membership back that channel_layer.group_discard removed."""
        self.groups_joined.discard(group)
        await self.channel_layer.group_discard(group, self.channel_name)

    async def leave_groups(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.cancel()
            await asyncio.gather(self.heartbeat, return_exceptions=True)
            self.heartbeat = None
        groups, self.groups_joined = self.groups_joined, set()
        results = await asyncio.gather(
            *(self.channel_layer.group_discard(g, self.channel_name) for g in groups),
            return_exceptions=True,
        )
        for group, result in zip(groups, results, strict=True):
            if isinstance(result, Exception):
                logger.warning("Could not leave %s: %r", group, result)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.groups_joined = set()
        try:
            await super().__call__(scope, receive, send)  # type: ignore[misc]
        finally:
            # Shielded: a server that cancels again (Daphne does, every second
            # past its close timeout) must not leave memberships behind.
            await asyncio.shield(self.leave_groups())

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mro = cls.__mro__
        if AsyncConsumer in mro and mro.index(AsyncConsumer) < mro.index(GroupMember):
            # After the Channels class, its __call__ would never run this one's.
            raise TypeError(
                f"{cls.__name__}: put GroupMember before the Channels consumer "
                "class in its bases, e.g. class Room(GroupMember, "
                "AsyncJsonWebsocketConsumer)."
            )
