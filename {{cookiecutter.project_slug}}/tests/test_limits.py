"""What one client may cost everyone else, against the real production server:
the chat message size, the rate limit, the memory of a client that never reads,
and chat for logged-in users only."""

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from {{ cookiecutter.project_slug }}.asgi import application
{%- if cookiecutter.asgi_server == "daphne" %}
from {{ cookiecutter.project_slug }}.serve import BoundedWebSocketProtocol
{%- endif %}

from .accounts import session_cookie
from .conftest import Servers
from .rooms import next_frame, next_in_room
from .servers import Server, running_server

# settings.py's defaults, which the production server runs with.
CHAT_MESSAGE_MAX_BYTES = 4096
BURST = 20
DROPS_BEFORE_CLOSE = 20
POLICY_VIOLATION = 1008
RUNSERVER_CODE = 4008
# Text that fits a chat frame under the 64 KiB limit.
LARGE = 60_000


@pytest.fixture
async def room(production_server: Server) -> AsyncIterator[list[ClientConnection]]:
    """Two members of a room of their own."""
    url = production_server.url + f"/ws/chat/limits-{uuid.uuid4().hex}/"
    async with connect(url) as first, connect(url) as second:
        yield [first, second]


async def heard(websocket: ClientConnection, until: str) -> list[str]:
    """Every chat message the socket receives, up to the one that says `until`."""
    messages: list[str] = []
    while (message := (await next_in_room(websocket))["message"]) != until:
        messages.append(message)
    return messages


async def test_a_chat_message_over_the_size_limit_reaches_no_one(
    room: list[ClientConnection],
) -> None:
    sender, listener = room
    # Two bytes a character in UTF-8: the limit counts bytes, not characters.
    await sender.send(json.dumps({"message": "é" * (CHAT_MESSAGE_MAX_BYTES // 2 + 1)}))
    error = (await next_in_room(sender))["error"]
    assert f"{CHAT_MESSAGE_MAX_BYTES + 2} bytes" in error
    assert "DJANGO_CHAT_MESSAGE_MAX_BYTES" in error
    # The connection stays open, and a message at the limit goes through.
    at_the_limit = "x" * CHAT_MESSAGE_MAX_BYTES
    await sender.send(json.dumps({"message": at_the_limit}))
    assert (await next_in_room(sender))["message"] == at_the_limit
    await sender.send(json.dumps({"message": "end"}))
    assert await heard(listener, until="end") == [at_the_limit]


async def test_a_chat_message_that_is_not_valid_text_gets_an_error(
    room: list[ClientConnection],
) -> None:
    sender, listener = room
    # JSON can spell a lone surrogate, which UTF-8 (and Redis) cannot carry.
    await sender.send('{"message": "\\ud800"}')
    assert (await next_in_room(sender))["error"].startswith("Message is not valid text")
    await sender.send(json.dumps({"message": "end"}))
    assert await heard(listener, until="end") == []


async def test_a_flood_is_cut_to_the_burst_then_closed_with_1008(
    room: list[ClientConnection],
) -> None:
    flooder, member = room
    for number in range(300):
        await flooder.send(json.dumps({"message": f"flood {number}"}))
    replies: list[str] = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            replies.append(str(await asyncio.wait_for(flooder.recv(), 10)))
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == POLICY_VIOLATION
    # Besides the errors, the flooder hears what passed, as every member does.
    errors = [json.loads(r)["error"] for r in replies if r.startswith('{"error"')]
    # One strike comes back a second: a slow machine may see a few more errors.
    assert len(errors) >= DROPS_BEFORE_CLOSE
    assert errors[0].startswith("Too many messages: at most 10 a second")
    # What passed reached the room before the close; the room chats on.
    await member.send(json.dumps({"message": "still chatting"}))
    passed = await heard(member, until="still chatting")
    assert BURST <= len(passed) <= 60
    # The burst, then the odd message a refill let by, in the order sent.
    assert passed[:BURST] == [f"flood {number}" for number in range(BURST)]
    numbers = [int(message.split()[1]) for message in passed]
    assert numbers == sorted(numbers)


async def test_a_flood_kept_up_below_the_burst_is_closed_too(
    production_server: Server,
) -> None:
    # Alone in its room: a member that never reads would fill its client's queue,
    # and the client library then waits 10 s to close a socket it stopped reading.
    url = production_server.url + f"/ws/chat/limits-{uuid.uuid4().hex}/"
    async with connect(url) as flooder:

        async def flood() -> None:
            with contextlib.suppress(ConnectionClosed):
                for number in range(200):  # 50 a second, for 4 s at most
                    await flooder.send(json.dumps({"message": f"steady {number}"}))
                    await asyncio.sleep(0.02)

        flooding = asyncio.create_task(flood())
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # the echoes that pass and the errors, until the close
                await asyncio.wait_for(flooder.recv(), 10)
        await flooding
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == POLICY_VIOLATION


async def test_runserver_closes_a_flood_with_4008(servers: Servers) -> None:
    # Its Daphne (Autobahn) refuses 1008 from an application: limits.py says the
    # same with 4000 + 1008, a private code.
    async with connect(servers.get("runserver").url + "/ws/ac/") as flooder:
        for number in range(100):
            await flooder.send(f"flood {number}")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(flooder.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == RUNSERVER_CODE


@pytest.fixture(scope="module")
def slow_limit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A message a second, bursts of 5: however slowly a loaded machine serves a
    burst, next to nothing refills meanwhile."""
    env = {
        "DJANGO_WEBSOCKET_MESSAGES_PER_SECOND": "1",
        "DJANGO_WEBSOCKET_MESSAGE_BURST": "5",
    }
    log = tmp_path_factory.mktemp("slow-limit") / "server.log"
    with running_server("production", log, env=env) as server:
        yield server


@pytest.mark.parametrize("path", ["/ws/sc/", "/ws/ac/"])
async def test_a_client_a_little_too_fast_loses_a_few_messages_not_its_socket(
    slow_limit_server: Server, path: str
) -> None:
    async with connect(slow_limit_server.url + path) as websocket:
        for number in range(10):
            await websocket.send(f"echo {number}")
        replies = [str(await asyncio.wait_for(websocket.recv(), 10)) for _ in range(10)]
        errors = [r for r in replies if r.startswith('{"error": "Too many messages')]
        echoed = [r for r in replies if r not in errors]
        assert 5 <= len(echoed) < 10
        assert len(errors) == 10 - len(echoed)
        assert echoed == [f"echo {number}" for number in range(len(echoed))]
        # At its pace again, each message is echoed: the socket stayed open.
        for number in range(2):
            await asyncio.sleep(1)  # what the bucket takes to refill a message
            await websocket.send(f"paced {number}")
            assert await asyncio.wait_for(websocket.recv(), 10) == f"paced {number}"


async def test_normal_chat_passes_through_the_limits_untouched(
    room: list[ClientConnection],
) -> None:
    first, second = room
    # A lively conversation: each waits for the other's message before answering.
    for number in range(2 * BURST):
        speaker, listener = (first, second) if number % 2 else (second, first)
        await speaker.send(json.dumps({"message": f"line {number}"}))
        for websocket in (speaker, listener):
            assert (await next_in_room(websocket))["message"] == f"line {number}"


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


@pytest.fixture
def unlimited_server(tmp_path: Path) -> Iterator[Server]:
    """Production without the rate limit, and chat messages up to the frame limit:
    one client can then send 60 MB in a thousand messages."""
    env = {
        "DJANGO_WEBSOCKET_MESSAGES_PER_SECOND": "0",
        "DJANGO_CHAT_MESSAGE_MAX_BYTES": str(LARGE),
    }
    with running_server("production", tmp_path / "server.log", env=env) as server:
        yield server


async def test_a_client_that_never_reads_costs_the_server_little_and_no_one_else(
    unlimited_server: Server,
) -> None:
    url = unlimited_server.url + "/ws/chat/unread/"
    text = "x" * LARGE
    frame = json.dumps({"message": text})
    pid = unlimited_server.process.pid
    # max_queue=1: the client library stops reading from the socket at once.
    async with (
        connect(url, max_queue=1, close_timeout=1)
        {%- if cookiecutter.asgi_server == "daphne" %} as unread{% endif %},
        connect(url, max_size=None) as speaker,
    ):

        async def talk(rounds: int) -> int:
            """Sends 50 messages at a time, each heard by the speaker; returns the
            server's largest RSS meanwhile."""
            largest = 0
            for _ in range(rounds):
                for _ in range(50):
                    await speaker.send(frame)
                for _ in range(50):
                    assert (await next_in_room(speaker))["message"] == text
                largest = max(largest, rss_bytes(pid))
            return largest

        await talk(2)  # warm: what any server allocates on its first messages
        before = rss_bytes(pid)
        largest = await talk(20)  # 1,000 messages of 60 KB: 60 MB to the room
        growth = largest - before
        assert growth < 32 * 1024 * 1024, f"the server grew by {growth} bytes"
{%- if cookiecutter.asgi_server == "daphne" %}
        # serve.py cut off the client that fell behind: past what the kernel
        # buffered, it finds the end of its connection.
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(unread.recv(), 10)
    assert "Cut off" in unlimited_server.log.read_text()
{%- endif %}


@pytest.fixture(scope="module")
def login_server(
    accounts: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Chat for logged-in users only, production's default (test_settings)."""
    env = {**accounts, "DJANGO_CHAT_LOGIN_REQUIRED": "1"}
    log = tmp_path_factory.mktemp("login") / "server.log"
    with running_server("production", log, env=env) as server:
        yield server


async def test_with_login_required_only_logged_in_users_chat(
    login_server: Server, accounts: dict[str, str]
) -> None:
    url = login_server.url + "/ws/chat/members/"
    with pytest.raises(InvalidStatus) as refused:
        await connect(url)
    assert refused.value.response.status_code == 403
    session = await asyncio.to_thread(session_cookie, "alice", accounts)
    cookie = {"Cookie": f"sessionid={session}"}
    async with connect(url, additional_headers=cookie) as alice:
        await alice.send(json.dumps({"message": "members only"}))
        heard = await next_in_room(alice)
        assert (heard["message"], heard["user"]) == ("members only", "alice")


@pytest.mark.django_db(transaction=True)  # the chat stores each message
@pytest.mark.parametrize("path", ["/ws/sc/", "/ws/ac/", "/ws/chat/bucket/"])
async def test_asgi_py_limits_every_route(path: str, settings: Any) -> None:
    settings.WEBSOCKET_MESSAGES_PER_SECOND = 1
    settings.WEBSOCKET_MESSAGE_BURST = 1
    communicator = WebsocketCommunicator(application, path)
    accepted, _ = await communicator.connect()
    assert accepted
    try:
        await communicator.send_to(text_data=json.dumps({"message": "first"}))
        await communicator.send_to(text_data=json.dumps({"message": "second"}))
        # Chat's own echo goes round the channel layer: it may come second.
        replies = [json.loads(await next_frame(communicator)) for _ in range(2)]
        assert "first" in [reply.get("message") for reply in replies]
        errors = [reply["error"] for reply in replies if "error" in reply]
        assert len(errors) == 1 and errors[0].startswith("Too many messages")
    finally:
        await communicator.disconnect()
{%- if cookiecutter.asgi_server == "daphne" %}


@pytest.mark.parametrize("state", ["STATE_CLOSING", "STATE_CLOSED"])
def test_a_frame_for_a_client_that_closed_is_dropped_not_raised(state: str) -> None:
    # What a consumer sends while the client's close is on its way (the room's
    # presence news to a socket that just left) reaches serve.py's protocol in
    # these states; Autobahn alone raises Disconnected into the consumer.
    protocol = BoundedWebSocketProtocol()
    protocol.state = getattr(protocol, state)
    protocol.serverSend("news for a socket that is gone")
{%- endif %}
