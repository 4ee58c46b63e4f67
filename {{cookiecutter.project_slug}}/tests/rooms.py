"""A chat client's next frame, past the presence news that the room sends whenever
someone comes or goes ({{ cookiecutter.app_slug }}/presence.py)."""

import asyncio
import json
from typing import Any

from channels.testing import WebsocketCommunicator
from websockets.asyncio.client import ClientConnection
from websockets.sync.client import ClientConnection as SyncClientConnection


def is_presence(text: str | bytes) -> bool:
    try:
        content = json.loads(text)
    except ValueError:
        return False
    return isinstance(content, dict) and "presence" in content


async def next_frame(communicator: WebsocketCommunicator, timeout: float = 5) -> str:
    while is_presence(text := await communicator.receive_from(timeout)):
        pass
    return str(text)


async def next_json(communicator: WebsocketCommunicator, timeout: float = 5) -> Any:
    return json.loads(await next_frame(communicator, timeout))


async def next_in_room(websocket: ClientConnection, timeout: float = 10) -> Any:
    """The next JSON object from the room that is not presence news."""
    while is_presence(text := await asyncio.wait_for(websocket.recv(), timeout)):
        pass
    return json.loads(text)


def next_in_room_sync(websocket: SyncClientConnection, timeout: float = 10) -> Any:
    while is_presence(text := websocket.recv(timeout=timeout)):
        pass
    return json.loads(text)
