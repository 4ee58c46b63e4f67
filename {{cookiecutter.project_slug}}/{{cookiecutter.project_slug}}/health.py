"""GET /healthz answers "ok" for the proxy and the container health check.

A middleware, first in MIDDLEWARE, rather than a view: it answers before the host
check (a health check asks for 127.0.0.1, not a name in ALLOWED_HOSTS), sessions and
the database, so it costs no query and says only that the process serves requests.
"""

from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

PATH = "/healthz"

GetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


def healthy() -> HttpResponse:
    response = HttpResponse("ok", content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response


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
            return await get_async(request)

        return async_middleware

    get_sync = cast(GetResponse, get_response)

    def middleware(request: HttpRequest) -> HttpResponseBase:
        if request.path_info == PATH:
            return healthy()
        return get_sync(request)

    return middleware
