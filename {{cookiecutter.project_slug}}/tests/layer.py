"""Receive from the channel layer in sync tests, as a view or a task sends to it."""

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def receive_many(channel: str, count: int, timeout: float = 10) -> list[Any]:
    """The next count messages on channel, all received inside one event loop.

    Not async_to_sync(layer.receive) once per message: each call runs its own event
    loop, and channels_redis (4.3) then hands out the first message again.
    """

    async def receive() -> list[Any]:
        layer: Any = get_channel_layer()
        messages = [
            await asyncio.wait_for(layer.receive(channel), timeout)
            for _ in range(count)
        ]
        # channels_redis drops each received message from its backup queue in a
        # task of its own: one cut short when this loop ends comes back next time.
        await asyncio.gather(*getattr(layer, "receive_cleaners", []))
        return messages

    return async_to_sync(receive)()
