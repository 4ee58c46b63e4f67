"""A rate limit on what each client sends, around every consumer at once (asgi.py),
so that one script cannot make the server, or a whole chat room, work flat out."""

import json
import time
from typing import Any

from django.conf import settings

# RFC 6455's "policy violation": the close code for a client that breaks the rules.
POLICY_VIOLATION = 1008
# Where the server refuses 1008: 4000 + the code, a private one that says the same.
RUNSERVER_CODE = 4008


class TokenBucket:
    """`rate` tokens a second, saved up to `burst`; each take spends one."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


async def close_for_flooding(send: Any) -> None:
    try:
        await send({"type": "websocket.close", "code": POLICY_VIOLATION})
    except Exception as error:
        # runserver's Daphne (Autobahn) lets applications close only with 1000 or
        # 3000-4999; serve.py and Uvicorn send 1008 as it is.
        if "invalid close code" not in str(error):
            raise
        await send({"type": "websocket.close", "code": RUNSERVER_CODE})


class RateLimitMiddleware:
    """Each socket's client may send WEBSOCKET_MESSAGES_PER_SECOND messages a
    second, in bursts of up to WEBSOCKET_MESSAGE_BURST (settings.py).

    A message over the limit never reaches the consumer: the client gets
    {"error": ...} instead. Each of those costs a strike; the socket has
    WEBSOCKET_DROPS_BEFORE_CLOSE of them and gets one back a second, and is closed
    with 1008 when none is left. So a client a little too fast loses a message now
    and then, and only a flood, in a burst or kept up, is closed. A rate of 0 turns
    the limit off.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        rate = settings.WEBSOCKET_MESSAGES_PER_SECOND
        if scope["type"] != "websocket" or not rate:
            return await self.application(scope, receive, send)
        burst = settings.WEBSOCKET_MESSAGE_BURST
        messages = TokenBucket(rate, burst)
        strikes = TokenBucket(1, settings.WEBSOCKET_DROPS_BEFORE_CLOSE)
        error = json.dumps(
            {
                "error": f"Too many messages: at most {rate} a second, in bursts of "
                f"{burst} (DJANGO_WEBSOCKET_MESSAGES_PER_SECOND, "
                "DJANGO_WEBSOCKET_MESSAGE_BURST). This one reached no one; keep "
                "sending this fast and the connection closes (1008, or 4008 under "
                "runserver)."
            }
        )
        closed = False  # by this limit or by the consumer: nothing more to send

        async def limited_receive() -> Any:
            nonlocal closed
            while True:
                event = await receive()
                if event["type"] != "websocket.receive":
                    return event  # connect and disconnect always pass
                if closed:
                    continue  # still in flight when it closed: goes nowhere
                if messages.take():
                    return event
                if strikes.take():
                    await send({"type": "websocket.send", "text": error})
                else:
                    closed = True
                    await close_for_flooding(send)

        async def limited_send(message: Any) -> None:
            # After a close, the consumer may still answer what it had: the server
            # would refuse that send (Uvicorn raises), so it goes nowhere instead.
            nonlocal closed
            if closed:
                return
            closed = message["type"] == "websocket.close"
            await send(message)

        return await self.application(scope, limited_receive, limited_send)
