"""A rate limit on what each client sends, for every consumer at once.

One script on one socket must not make the server (or, through a chat room, every
member's connection) work as fast as it can send frames. asgi.py puts this around
the WebSocket router, so each consumer, yours and startconsumer's included, gets
it without a line of its own.
"""

import json
import time
from typing import Any

from django.conf import settings

# RFC 6455's "policy violation": the close code for a client that breaks the rules.
POLICY_VIOLATION = 1008
# Where the server refuses 1008: 4000 + the code, a private one that says the same.
RUNSERVER_CODE = 4008


class TokenBucket:
    """`rate` tokens a second, saved up to `burst`; each message spends one."""

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
    except Exception:
        # runserver's Daphne lets applications close only with 1000 or 3000-4999;
        # serve.py and Uvicorn send 1008 as it is.
        await send({"type": "websocket.close", "code": RUNSERVER_CODE})


class RateLimitMiddleware:
    """Each socket's client may send WEBSOCKET_MESSAGES_PER_SECOND messages a
    second, in bursts of up to WEBSOCKET_MESSAGE_BURST (settings.py).

    A message over the limit never reaches the consumer: the client gets
    {"error": ...} instead, and after WEBSOCKET_DROPS_BEFORE_CLOSE of them in a
    row, a close with 1008. A client a little too fast loses a message now and
    then; only a flood is closed. A rate of 0 turns the limit off.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        rate = settings.WEBSOCKET_MESSAGES_PER_SECOND
        if scope["type"] != "websocket" or not rate:
            return await self.application(scope, receive, send)
        burst = settings.WEBSOCKET_MESSAGE_BURST
        bucket = TokenBucket(rate, burst)
        error = json.dumps(
            {
                "error": f"Too many messages: at most {rate} a second, in bursts of "
                f"{burst}. This one reached no one; keep sending this fast and the "
                "connection closes (1008)."
            }
        )
        drops_in_a_row = 0
        closed = False

        async def limited_receive() -> Any:
            nonlocal drops_in_a_row, closed
            while True:
                event = await receive()
                if event["type"] != "websocket.receive":
                    return event  # connect and disconnect always pass
                if not closed and bucket.take():
                    drops_in_a_row = 0
                    return event
                if closed:
                    continue  # still in flight when it closed: goes nowhere
                drops_in_a_row += 1
                if drops_in_a_row >= settings.WEBSOCKET_DROPS_BEFORE_CLOSE:
                    closed = True
                    await close_for_flooding(send)
                else:
                    await send({"type": "websocket.send", "text": error})

        async def limited_send(message: Any) -> None:
            # After the 1008, the consumer may still answer what it had: the server
            # would refuse that send (Uvicorn raises), so it goes nowhere instead.
            if not closed:
                await send(message)

        return await self.application(scope, limited_receive, limited_send)
