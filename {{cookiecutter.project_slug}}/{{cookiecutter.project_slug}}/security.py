"""WebSocket handshake policy: origins checked for browsers; the user from a token,
else from the session."""

import logging
from importlib import import_module
from typing import Any
from urllib.parse import urlparse

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator, WebsocketDenier
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from {{ cookiecutter.app_slug }}.tokens import TokenRefused, user_for_token

logger = logging.getLogger(__name__)

# Browsers cannot set headers on a WebSocket, only offer subprotocols:
# new WebSocket(url, ["bearer", "bearer." + token]). The server answers "bearer".
BEARER_PROTOCOL = "bearer"
TOKEN_PROTOCOL_PREFIX = "bearer."


class WebsocketRefuser(WebsocketDenier):
    """Channels' WebsocketDenier (HTTP 403) without a channel layer: a refusal
    costs no Redis round trip, and still works while Redis is down."""

    channel_layer_alias = None  # type: ignore[assignment]


class BrowserOriginValidator:
    """The origin check, for handshakes that carry an Origin.

    Browsers always send Origin, so a page on another site cannot open a socket
    here with the user's cookies (cross-site WebSocket hijacking). Allowed in
    production: exactly https://<host> for each host of ALLOWED_HOSTS (the proxy
    serves HTTPS on its default port; ".example.com" gives https://example.com, not
    its subdomains; "*" gives nothing), plus the origins of
    DJANGO_WEBSOCKET_ALLOWED_ORIGINS. In development, as Channels'
    AllowedHostsOriginValidator: the hosts on any scheme and port (runserver).
    A handshake without Origin comes from a non-browser client (the websockets
    library, websocat, Postman): it holds no victim's cookies, so it is let
    through instead of refused as Channels' validator does.
    """

    def __init__(self, application: Any) -> None:
        self.application = application
        self.origins = set(settings.WEBSOCKET_ALLOWED_ORIGINS)
        self.host_patterns = None
        hosts = settings.ALLOWED_HOSTS
        if settings.DEBUG:
            if not hosts:  # what Django itself allows then
                hosts = ["localhost", "127.0.0.1", "[::1]"]
            # Only its matching is used: its refusal would start a channel layer.
            self.host_patterns = OriginValidator(application, hosts)
        else:
            # Lowercase, as browsers send origins (hosts match in any case).
            self.origins |= {f"https://{host.lstrip('.').lower()}" for host in hosts}
            self.origins.discard("https://*")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        origin = next((v for n, v in scope["headers"] if n == b"origin"), None)
        if origin is None:
            return await self.application(scope, receive, send)
        origin_text = origin.decode("latin1")
        if self.allowed(origin_text):
            return await self.application(scope, receive, send)
        # %r: the header is the client's; quoted, it cannot forge a log line.
        logger.warning(
            "WebSocket %r: origin %r refused (not an allowed host's or listed origin)",
            scope["path"],
            origin_text,
        )
        return await WebsocketRefuser()(scope, receive, send)

    def allowed(self, origin: str) -> bool:
        if origin.lower() in self.origins:  # browsers send it as listed
            return True
        if self.host_patterns is None:
            return False
        try:
            return self.host_patterns.valid_origin(urlparse(origin))
        except ValueError:  # a port that is not a number, or above 65535
            return False


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
    """scope["user"] from a signed token (the app's tokens.py), for clients without
    a session.

    Scripts and apps send "Authorization: Bearer <token>"; browsers offer the
    token as a subprotocol, "bearer.<token>", next to "bearer", which this
    middleware answers for them. A token decides who connects, even when a
    session cookie names someone else: it was sent for this connection on
    purpose. A bad token is refused with 403, never downgraded to the session.
    Consumers see the token in no header and no subprotocol, so cannot log it.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        token, protocols = offered_token(scope)
        if token is None:
            return await self.application(scope, receive, send)  # the session decides
        user = await authenticate(scope["path"], token)
        if user is None:
            return await WebsocketRefuser()(scope, receive, send)
        headers = [
            (n, v)
            for n, v in scope["headers"]
            if n not in {b"authorization", b"sec-websocket-protocol"}
        ]
        if protocols:
            headers.append((b"sec-websocket-protocol", ", ".join(protocols).encode()))
        # The cookie's session only when it is the token's user's (a page of this
        # site, as the demo's): then a logout there ends this socket too (4001).
        # Another user's session: login() or logout() in this consumer must not
        # touch the session of someone else in the same browser.
        session_user = scope.get("user")
        same_user = (
            session_user is not None
            and session_user.is_authenticated
            and session_user.pk == user.pk
        )
        session = scope.get("session") if same_user else None
        if session is None:
            session = import_module(settings.SESSION_ENGINE).SessionStore()
        scope = {
            **scope,
            "user": user,
            "session": session,
            "headers": headers,
            "subprotocols": protocols,
        }
        if BEARER_PROTOCOL in protocols:
            send = answer_bearer(send)
        return await self.application(scope, receive, send)


def offered_token(scope: Any) -> tuple[str | None, list[str]]:
    """The token a client sent ("" if it meant to and sent none, None if it sent
    no sign of one), and the subprotocols left for the consumer."""
    offered = scope.get("subprotocols", [])
    protocols = [p for p in offered if not is_token_protocol(p)]
    in_protocols = [
        p[len(TOKEN_PROTOCOL_PREFIX) :] for p in offered if is_token_protocol(p)
    ]
    for name, value in scope["headers"]:
        if name == b"authorization":
            words = value.decode("latin1").split(maxsplit=1)  # any whitespace
            if words and words[0].lower() == "bearer":
                return (words[1].strip() if len(words) == 2 else ""), protocols
    if in_protocols:
        return in_protocols[0], protocols
    return ("" if BEARER_PROTOCOL in protocols else None), protocols


def is_token_protocol(protocol: str) -> bool:
    prefix = protocol[: len(TOKEN_PROTOCOL_PREFIX)]
    return prefix.lower() == TOKEN_PROTOCOL_PREFIX


async def authenticate(path: str, token: str) -> Any:
    """The token's user, or None after one log line saying why not."""
    try:
        if not token:
            raise TokenRefused("bearer offered without a token")
        return await database_sync_to_async(user_for_token)(token)
    except TokenRefused as refused:
        # %r: a path may hold a decoded newline, which would forge a log line.
        logger.warning("WebSocket %r: token refused (%s)", path, refused)
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
