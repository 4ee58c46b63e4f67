"""WebSocket handshake policy: origins checked for browsers, users from the session."""

from typing import Any

from channels.auth import AuthMiddleware
from channels.security.websocket import AllowedHostsOriginValidator
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.contrib.auth.models import AnonymousUser


class BrowserOriginValidator:
    """Channels' AllowedHostsOriginValidator for handshakes that carry an Origin.

    Browsers always send Origin, so a page on another site cannot open a socket
    here with the user's cookies (cross-site WebSocket hijacking). A handshake
    without Origin comes from a non-browser client (the websockets library,
    websocat, Postman): it holds no victim's cookies, so it is let through
    instead of refused as Channels' validator does.
    """

    def __init__(self, application: Any) -> None:
        self.application = application
        self.origin_checked = AllowedHostsOriginValidator(application)

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


def AuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 (named as Channels' own)
    """Cookies, then the session, then scope["user"]: as channels.auth's stack."""
    return CookieMiddleware(SessionMiddleware(SessionAuthMiddleware(inner)))
