"""WebSocket handshake policy: origins checked for browsers; the user from a token,
else from the session."""

import logging
from collections.abc import Iterable
from typing import Any

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator, WebsocketDenier
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from .tokens import TokenRefused, user_for_token

logger = logging.getLogger(__name__)

# Browsers cannot set headers on a WebSocket, only offer subprotocols:
# new WebSocket(url, ["bearer", "bearer." + token]). The server answers "bearer".
BEARER_PROTOCOL = "bearer"
TOKEN_PROTOCOL_PREFIX = "bearer."


class BrowserOriginValidator:
    """Channels' OriginValidator for handshakes that carry an Origin.

    Browsers always send Origin, so a page on another site cannot open a socket
    here with the user's cookies (cross-site WebSocket hijacking). Allowed: the
    hosts of ALLOWED_HOSTS, as Channels' AllowedHostsOriginValidator, plus the
    separate frontends of DJANGO_WEBSOCKET_ALLOWED_ORIGINS. A handshake without
    Origin comes from a non-browser client (the websockets library, websocat,
    Postman): it holds no victim's cookies, so it is let through instead of
    refused as Channels' validator does.
    """

    def __init__(self, application: Any) -> None:
        self.application = application
        hosts = settings.ALLOWED_HOSTS
        if settings.DEBUG and not hosts:  # what Django itself allows then
            hosts = ["localhost", "127.0.0.1", "[::1]"]
        allowed = [*hosts, *settings.WEBSOCKET_ALLOWED_ORIGINS]
        self.origin_checked = OriginValidator(application, allowed)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        headers = scope.get("headers", ())
        has_origin = any(name == b"origin" for name, _ in headers)
        app = self.origin_checked if has_origin else self.application
        return await app(scope, receive, send)


class SessionAuthMiddleware(AuthMiddleware):
    """Channels' AuthMiddleware, minus the database trip for clients with no session.

    Channels looks the user up in a worker thread on every handshake, the largest
    cost of a connect. A client that sent no session cookie can only be anonymous;
    a client with one is looked up exactly as before.
    """

    async def resolve_scope(self, scope: Any) -> None:
        if scope["session"].session_key is None:
            scope["user"]._wrapped = AnonymousUser()
        else:
            await super().resolve_scope(scope)


class TokenAuthMiddleware:
    """scope["user"] from a signed token (tokens.py), for clients without a session.

    Scripts and apps send "Authorization: Bearer <token>"; browsers offer the
    token as a subprotocol, "bearer.<token>", next to "bearer", which this
    middleware answers for them. A token decides who connects, even when a
    session cookie names someone else: it was sent for this connection on
    purpose. A bad token is refused with 403, never downgraded to the session.
    Consumers see neither the header nor the token protocol, so cannot log them.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        offered = scope.get("subprotocols", [])
        protocols = [p for p in offered if not p.startswith(TOKEN_PROTOCOL_PREFIX)]
        in_protocols = [
            p.removeprefix(TOKEN_PROTOCOL_PREFIX) for p in offered if p not in protocols
        ]
        token = bearer_header(scope["headers"]) or next(iter(in_protocols), None)
        if token is None:
            return await self.application(scope, receive, send)
        try:
            user = await database_sync_to_async(user_for_token)(token)
        except TokenRefused as refused:
            logger.warning("WebSocket %s: token refused (%s)", scope["path"], refused)
            return await WebsocketDenier()(scope, receive, send)
        headers = [(n, v) for n, v in scope["headers"] if n != b"authorization"]
        scope = {**scope, "user": user, "headers": headers, "subprotocols": protocols}
        if BEARER_PROTOCOL in protocols:
            send = answer_bearer(send)
        return await self.application(scope, receive, send)


def bearer_header(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def answer_bearer(send: Any) -> Any:
    """A browser that offers subprotocols fails a handshake whose answer names
    none, so accept with "bearer" unless the consumer chose one of its own."""

    async def send_with_protocol(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.accept" and not message.get("subprotocol"):
            message = {**message, "subprotocol": BEARER_PROTOCOL}
        await send(message)

    return send_with_protocol


def AuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 (named as Channels' own)
    """Cookies, the session, scope["user"] from it (as channels.auth's stack), then
    a token's user in its place when the client sent one."""
    return CookieMiddleware(
        SessionMiddleware(SessionAuthMiddleware(TokenAuthMiddleware(inner)))
    )
