"""The handshake policy: scope["user"] and scope["session"] from the Django
session, and the origin check."""

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client, override_settings

from {{ cookiecutter.project_slug }}.security import (
    AuthMiddlewareStack,
    BrowserOriginValidator,
)

Scope = dict[str, Any]


def recording_app(scopes: list[Scope]) -> Any:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await send({"type": "websocket.close"})

    return app


async def handshake(headers: list[tuple[bytes, bytes]]) -> Scope:
    scopes: list[Scope] = []
    communicator = WebsocketCommunicator(
        AuthMiddlewareStack(recording_app(scopes)), "/ws/", headers=headers
    )
    await communicator.connect()
    return scopes[0]


async def test_client_without_a_session_is_anonymous() -> None:
    scope = await handshake([])
    assert scope["user"].is_anonymous
    assert scope["session"].session_key is None


@pytest.fixture
def logged_in_session(transactional_db: None) -> tuple[str, int]:
    """A session cookie of a logged-in user, as a browser would hold it."""
    user = User.objects.create(username="ada")
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value, user.pk


def test_logged_in_browser_gets_its_user(logged_in_session: tuple[str, int]) -> None:
    cookie, user_id = logged_in_session
    # From sync code, so that the user lookup runs in this thread, where the test
    # database is, rather than in Channels' shared worker thread.
    scope = async_to_sync(handshake)([(b"cookie", f"sessionid={cookie}".encode())])
    assert scope["user"].is_authenticated
    assert scope["user"].pk == user_id


@override_settings(WEBSOCKET_ALLOWED_ORIGINS=["http://app.example.test:5173"])
@pytest.mark.parametrize(
    "origin",
    [b"http://app.example.test:99999", b"http://app.example.test:abc", b"http://[::1"],
)
async def test_an_origin_that_does_not_parse_is_refused(origin: bytes) -> None:
    scopes: list[Scope] = []
    communicator = WebsocketCommunicator(
        BrowserOriginValidator(recording_app(scopes)),
        "/ws/",
        headers=[(b"origin", origin)],
    )
    connected, _ = await communicator.connect()
    assert not connected
    assert scopes == []
