"""GET /healthz: the process serves requests. GET /readyz: it can also do its work.

/healthz answers "ok" for the proxy and the container health check (liveness). A
middleware, first in MIDDLEWARE, rather than a view: it answers before the host
check (a health check asks for 127.0.0.1, not a name in ALLOWED_HOSTS), sessions and
the database, so it costs no query and says only that the process serves requests.

/readyz answers "ready" only when the database and the channel layer answer, and
503 with one line naming the first that did not (readiness: whether to send traffic
here). Restart on /healthz, never on /readyz: a Redis outage would restart them all.
"""

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.sync import async_to_sync, iscoroutinefunction
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

PATH = "/healthz"
READY_PATH = "/readyz"
# Seconds each check has: the query, and the layer's round trip to this process and
# back. More than the Redis layer's retries of a refused connection (2.5 s), so a
# Redis that is down is named as such; a stalled Redis or database would otherwise
# hold /readyz for the Redis socket_timeout (15 s) or the database's own wait.
CHECK_TIMEOUT = 5

logger = logging.getLogger(__name__)

GetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


def answer(text: str, status: int = 200) -> HttpResponse:
    response = HttpResponse(text, content_type="text/plain", status=status)
    response["Cache-Control"] = "no-store"
    return response


def healthy() -> HttpResponse:
    return answer("ok")


def query_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()  # its own thread (below): no request closes it


Check = concurrent.futures.Future[None]


_checks: queue.SimpleQueue[Check] | None = None
_checks_lock = threading.Lock()


def database_checks() -> queue.SimpleQueue[Check]:
    """The queue of one daemon thread of its own, started at the first check.

    Not sync_to_async's thread, nor a ThreadPoolExecutor's: asgiref waits for its
    thread even after a timeout, and the interpreter for an executor's at exit, so a
    stalled database would hold /readyz past CHECK_TIMEOUT, and a stopping server
    for as long as the database driver waits (measured: 15 s after SIGTERM, with
    PostgreSQL down). One only: checks queue behind a stuck one and time out, rather
    than filling the loop's pool; one that timed out before its turn never runs. The
    lock keeps it one when WSGI threads make the first check at once.
    """
    global _checks
    with _checks_lock:
        if _checks is None:
            _checks = queue.SimpleQueue()
            threading.Thread(
                target=run_checks, args=(_checks,), name="readyz", daemon=True
            ).start()
        return _checks


def run_checks(checks: queue.SimpleQueue[Check]) -> None:
    while True:
        check = checks.get()
        if check.set_running_or_notify_cancel():
            try:
                query_database()
            except BaseException as error:
                check.set_exception(error)
            else:
                check.set_result(None)


async def check_database() -> None:
    check: Check = concurrent.futures.Future()
    database_checks().put(check)
    await asyncio.wrap_future(check)


async def round_trip_the_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        return  # no layer configured: nothing to wait for
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "readiness.check"})
    await layer.receive(channel)


async def ready() -> HttpResponse:
    for name, check in (
        ("the database", check_database),
        ("the channel layer", round_trip_the_layer),
    ):
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT)
        except Exception as error:
            # The details go to the log, not to whoever asks: /readyz is public.
            logger.warning("Not ready: %s did not answer: %r", name, error)
            reason = type(error).__name__
            return answer(f"not ready: {name} did not answer ({reason})", 503)
    return answer("ready")


@sync_and_async_middleware
def health_check(
    get_response: GetResponse | AsyncGetResponse,
) -> Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]:
    # Under daphne and uvicorn the chain is async: answering there saves the
    # thread hop that a sync-only middleware would cost every request.
    if iscoroutinefunction(get_response):
        get_async = cast(AsyncGetResponse, get_response)

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            if request.path_info == PATH:
                return healthy()
            if request.path_info == READY_PATH:
                return await ready()
            return await get_async(request)

        return async_middleware

    get_sync = cast(GetResponse, get_response)

    def middleware(request: HttpRequest) -> HttpResponseBase:
        if request.path_info == PATH:
            return healthy()
        if request.path_info == READY_PATH:
            return async_to_sync(ready)()
        return get_sync(request)

    return middleware
