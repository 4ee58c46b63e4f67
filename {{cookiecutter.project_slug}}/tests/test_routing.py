"""The whole ASGI application: routes, and refusal of unknown paths."""

import pytest
from channels.testing import WebsocketCommunicator

from {{ cookiecutter.project_slug }}.asgi import application


@pytest.mark.parametrize("path", ["/ws/sc/", "/ws/ac/"])
async def test_routes_reach_both_consumers(path: str) -> None:
    communicator = WebsocketCommunicator(application, path)
    accepted, _ = await communicator.connect()
    assert accepted
    await communicator.send_to(text_data=path)
    assert await communicator.receive_from() == path
    await communicator.disconnect()


async def test_unknown_path_is_refused() -> None:
    communicator = WebsocketCommunicator(application, "/ws/nowhere/")
    accepted, _ = await communicator.connect()
    assert not accepted
