"""WebSocket origin policy: defend browsers without locking out command-line clients."""

from typing import Any

from channels.security.websocket import AllowedHostsOriginValidator


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
