"""Who connects, through the real server: tokens, sessions and listed origins."""

import asyncio
import functools
import json
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from .accounts import (
    LISTED_ORIGIN,
    push_test_notification,
    received,
    session_cookie,
    spoiled_token,
    wstoken,
)
from .servers import Server


def tampered(token: str) -> str:
    """One character of the payload changed: the signature no longer matches."""
    return ("B" if token[0] == "A" else "A") + token[1:]


@asynccontextmanager
async def notifications(
    server: Server,
    token: str | None = None,
    session: str | None = None,
    browser_transport: bool = False,
) -> AsyncIterator[ClientConnection]:
    """ws/notifications/ with a token in the Authorization header (a script) or as
    a subprotocol (what a browser can send), and maybe a session cookie."""
    headers = {}
    if session is not None:
        headers["Cookie"] = f"sessionid={session}"
    if token is not None and not browser_transport:
        headers["Authorization"] = f"Bearer {token}"
    protocols = [Subprotocol("bearer"), Subprotocol(f"bearer.{token}")]
    async with connect(
        server.url + "/ws/notifications/",
        additional_headers=headers,
        subprotocols=protocols if browser_transport else None,
        origin=Origin(LISTED_ORIGIN) if browser_transport else None,
        open_timeout=10,
    ) as websocket:
        yield websocket


class Credentials:
    """alice's and bob's sessions and tokens, each made once for this module: each
    costs a manage.py process (most of a second), and no test here spends one."""

    def __init__(self, accounts: dict[str, str]) -> None:
        self.session: Callable[[str], str] = functools.cache(
            lambda username: session_cookie(username, accounts)
        )
        self.token: Callable[[str], str] = functools.cache(
            lambda username: wstoken(username, accounts)
        )


@pytest.fixture(scope="module")
def credentials(accounts: dict[str, str]) -> Credentials:
    return Credentials(accounts)


async def push_to(server: Server, username: str, credentials: Credentials) -> None:
    """The test-notification view, logged in as that user: a push to them."""
    session = await asyncio.to_thread(credentials.session, username)
    await asyncio.to_thread(push_test_notification, server, session)


async def refusal(server: Server, token: str, session: str | None = None) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with notifications(server, token, session):
            pass
    return refused.value.response.status_code


def assert_never_logged(token: str, server: Server) -> None:
    log = server.log.read_text()
    assert token not in log
    assert "Traceback" not in log


async def test_a_header_token_connects_as_its_user(
    server_with_users: Server, credentials: Credentials
) -> None:
    token = await asyncio.to_thread(credentials.token, "alice")
    async with notifications(server_with_users, token) as websocket:
        await push_to(server_with_users, "alice", credentials)
        assert await received(websocket) == {"message": "Test notification for alice."}
    assert_never_logged(token, server_with_users)


async def test_a_browser_offers_the_token_as_a_subprotocol(
    server_with_users: Server, credentials: Credentials
) -> None:
    token = await asyncio.to_thread(credentials.token, "alice")
    async with notifications(
        server_with_users, token, browser_transport=True
    ) as websocket:
        # The answer names "bearer", never the token: browsers require one of
        # the offered values, and a token must not travel back.
        assert websocket.subprotocol == "bearer"
        assert websocket.response is not None
        assert websocket.response.headers["Sec-WebSocket-Protocol"] == "bearer"
        await push_to(server_with_users, "alice", credentials)
        assert await received(websocket) == {"message": "Test notification for alice."}
    assert_never_logged(token, server_with_users)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("expired", "expired"),
        ("tampered", "bad signature: tampered, or signed with another SECRET_KEY"),
        (
            "password",
            "revoked: the password hash changed (a new password, or a rehash at "
            "log-in)",
        ),
        ("inactive", "the user is inactive"),
        ("deleted", "its user no longer exists"),
    ],
)
async def test_a_spoiled_token_is_refused_with_403_and_one_log_line(
    server_with_users: Server,
    accounts: dict[str, str],
    credentials: Credentials,
    change: str,
    reason: str,
) -> None:
    username = f"token-{change}"
    if change == "tampered":
        token = tampered(await asyncio.to_thread(credentials.token, "alice"))
    else:
        token = await asyncio.to_thread(spoiled_token, username, change, accounts)
    logged_before = server_with_users.log.read_text().count("token refused (")
    assert await refusal(server_with_users, token) == 403
    # Logged before the refusal was sent: it is in the file now.
    lines = server_with_users.log.read_text().splitlines()
    refusals = [line for line in lines if "token refused (" in line]
    assert len(refusals) == logged_before + 1
    assert refusals[-1].endswith(
        f"WebSocket '/ws/notifications/': token refused ({reason})"
    )
    assert_never_logged(token, server_with_users)
    # The server goes on: a fresh client with a good token connects.
    good = await asyncio.to_thread(credentials.token, "alice")
    async with notifications(server_with_users, good) as websocket:
        await push_to(server_with_users, "alice", credentials)
        assert await received(websocket) == {"message": "Test notification for alice."}


async def test_a_token_decides_over_a_session_of_someone_else(
    server_with_users: Server, credentials: Credentials
) -> None:
    alice = await asyncio.to_thread(credentials.session, "alice")
    bob_token = await asyncio.to_thread(credentials.token, "bob")
    async with notifications(server_with_users, bob_token, alice) as websocket:
        # Pushed in this order, alice's would come first if it came at all.
        await push_to(server_with_users, "alice", credentials)
        await push_to(server_with_users, "bob", credentials)
        assert await received(websocket) == {"message": "Test notification for bob."}


async def test_a_bad_token_is_refused_even_with_a_good_session(
    server_with_users: Server, credentials: Credentials
) -> None:
    alice = await asyncio.to_thread(credentials.session, "alice")
    token = tampered(await asyncio.to_thread(credentials.token, "alice"))
    assert await refusal(server_with_users, token, alice) == 403


# Daphne refuses an Origin with no valid port itself (400); uvicorn leaves it to
# the origin check (403). Either way: refused, not a 500.
BAD_PORT = {400, 403}


@pytest.mark.parametrize(
    ("origin", "refused_with"),
    [
        (LISTED_ORIGIN, None),
        ("https://127.0.0.1", None),  # in ALLOWED_HOSTS, behind the TLS proxy
        ("http://127.0.0.1", {403}),  # production: the host's https:// only
        ("https://127.0.0.1:9999", {403}),  # nor another port
        ("http://app.example.test:5174", {403}),  # listed host, another port
        ("https://app.example.test:5173", {403}),  # listed host, another scheme
        ("http://evil.example.test", {403}),
        ("http://app.example.test:99999", BAD_PORT),
        ("http://app.example.test:abc", BAD_PORT),
    ],
)
async def test_only_listed_origins_and_allowed_hosts_may_connect(
    server_with_users: Server, origin: str, refused_with: set[int] | None
) -> None:
    url = server_with_users.url + "/ws/ac/"
    if refused_with is None:
        async with connect(url, origin=Origin(origin), open_timeout=10) as websocket:
            await websocket.send("hello")
            assert await asyncio.wait_for(websocket.recv(), 10) == "hello"
    else:
        with pytest.raises(InvalidStatus) as refused:
            await connect(url, origin=Origin(origin), open_timeout=10)
        assert refused.value.response.status_code in refused_with
    assert "Traceback" not in server_with_users.log.read_text()


def token_endpoint(server: Server, session: str, origin: str) -> urllib.request.Request:
    return urllib.request.Request(
        f"http://127.0.0.1:{server.port}/ws-token/",
        method="POST",
        headers={"Cookie": f"sessionid={session}", "Origin": origin},
    )


@pytest.mark.parametrize("origin", [LISTED_ORIGIN, "http://evil.example.test"])
async def test_the_token_endpoint_shares_its_answer_with_listed_origins_only(
    server_with_users: Server, credentials: Credentials, origin: str
) -> None:
    session = await asyncio.to_thread(credentials.session, "alice")
    request = token_endpoint(server_with_users, session, origin)
    with await asyncio.to_thread(urllib.request.urlopen, request, timeout=10) as answer:
        shared_with = answer.headers.get("Access-Control-Allow-Origin")
        token = json.load(answer)["token"]
    if origin != LISTED_ORIGIN:
        assert shared_with is None  # the browser keeps the answer from the page
        return
    assert shared_with == origin
    async with notifications(
        server_with_users, token, browser_transport=True
    ) as websocket:
        await push_to(server_with_users, "alice", credentials)
        assert await received(websocket) == {"message": "Test notification for alice."}
    assert_never_logged(token, server_with_users)
