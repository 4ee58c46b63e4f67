"""Two server processes on one real Redis: rooms span them, outages pass."""

import asyncio
import copy
import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from channels.layers import channel_layers
from django.conf import LazySettings
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from {{ cookiecutter.project_slug }}.layers import RedisChannelLayer

from .accounts import manage, session_cookie
from .redis_server import RedisServer
from .rooms import next_in_room
from .servers import (
    SERVER_ENVIRONMENTS,
    Server,
    free_port,
    running_server,
    start_server,
    stop_server,
)

CLIENTS = 200


def start_two(folder: Path, env: dict[str, str]) -> Iterator[list[Server]]:
    servers = [
        start_server("production", folder / f"server-{n}.log", env=env) for n in (1, 2)
    ]
    try:
        yield servers
    finally:
        for server in servers:
            stop_server(server.process)


@pytest.fixture
def two_servers(
    tmp_path: Path, redis_server: RedisServer, accounts: dict[str, str]
) -> Iterator[list[Server]]:
    yield from start_two(tmp_path, accounts)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis for one test to stop: the session's servers never see the outage."""
    folder = tmp_path / "own-redis"
    folder.mkdir()
    redis = RedisServer(free_port(), folder)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def two_servers_on_own_redis(
    tmp_path: Path, own_redis: RedisServer, accounts: dict[str, str]
) -> Iterator[list[Server]]:
    yield from start_two(tmp_path, {**accounts, "REDIS_URL": own_redis.url})


async def say(websocket: ClientConnection, message: str) -> None:
    await websocket.send(json.dumps({"message": message}))


async def heard(websocket: ClientConnection, timeout: float = 10) -> str:
    return str((await next_in_room(websocket, timeout))["message"])


async def test_a_client_whose_server_stopped_gets_what_it_missed_from_the_other(
    two_servers: list[Server],
) -> None:
    one, two = two_servers
    async with connect(one.url + "/ws/chat/failover/") as alice:
        await say(alice, "seen on one")
        last_seen = (await next_in_room(alice))["id"]
        stop_server(one.process)  # a deploy, or a crash: alice's socket drops
        with pytest.raises(ConnectionClosed):
            await alice.recv()
    # bob asks for what came after it too, or his history would start with it
    async with connect(f"{two.url}/ws/chat/failover/?since={last_seen}") as bob:
        for text in ("missed 1", "missed 2"):
            await say(bob, text)
            assert (await next_in_room(bob))["message"] == text  # stored, and sent
        url = f"{two.url}/ws/chat/failover/?since={last_seen}"
        async with connect(url) as alice:
            assert [await heard(alice) for _ in range(2)] == ["missed 1", "missed 2"]
            await say(bob, "live")
            assert await heard(alice) == "live"  # the next one: nothing twice


async def test_a_room_spans_two_server_processes(two_servers: list[Server]) -> None:
    one, two = two_servers
    async with (
        connect(one.url + "/ws/chat/across/") as alice,
        connect(two.url + "/ws/chat/across/") as bob,
    ):
        await say(alice, "from process one")
        assert await heard(bob) == "from process one"
        assert await heard(alice) == "from process one"
        await say(bob, "from process two")
        assert await heard(alice) == "from process two"
        assert await heard(bob) == "from process two"


async def test_200_clients_join_one_room_at_once(two_servers: list[Server]) -> None:
    urls = [two_servers[n % 2].url + "/ws/chat/crowd/" for n in range(CLIENTS)]
    clients = await asyncio.wait_for(
        asyncio.gather(*(connect(url, open_timeout=30) for url in urls)), 60
    )
    try:
        # No wait needed: ChatConsumer joins its group before it accepts.
        await say(clients[0], "welcome")
        messages = await asyncio.gather(*(heard(client) for client in clients))
        assert messages == ["welcome"] * CLIENTS
    finally:
        await asyncio.gather(*(client.close() for client in clients))
    for server in two_servers:
        assert "Traceback" not in server.log.read_text()


async def test_an_idle_receive_outlasts_redis_py_s_default_read_timeout() -> None:
    # channels_redis waits for messages in blocking pops of brpop_timeout seconds.
    # Make one pop longer than redis-py 8's default 5 s read timeout: the layer's
    # socket_timeout must let it finish instead of raising TimeoutError.
    layer: Any = channel_layers.make_backend("default")  # a RedisChannelLayer
    layer.brpop_timeout = 7
    channel = await layer.new_channel()
    loop = asyncio.get_running_loop()
    later = loop.call_later(
        6, lambda: loop.create_task(layer.send(channel, {"type": "late"}))
    )
    try:
        assert (await asyncio.wait_for(layer.receive(channel), 30))["type"] == "late"
    finally:
        later.cancel()
        await layer.close_pools()


def readiness(server: Server) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/readyz")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_readiness_follows_redis_down_and_back(
    server_on_own_redis: Server, own_redis: RedisServer
) -> None:
    assert readiness(server_on_own_redis) == (200, b"ready")
    own_redis.stop()
    try:
        status, body = readiness(server_on_own_redis)
        assert status == 503
        assert body == b"not ready: the channel layer did not answer (ConnectionError)"
    finally:
        own_redis.start()
    back = time.monotonic()
    while readiness(server_on_own_redis) != (200, b"ready"):
        assert time.monotonic() - back < 20, "not ready 20 s after Redis came back"
    assert "Traceback" not in server_on_own_redis.log.read_text()


def redis_clients(server: RedisServer) -> int:
    """Connections Redis holds open now, this question's own included."""
    client = redis.Redis.from_url(server.url)
    try:
        return int(client.info("clients")["connected_clients"])
    finally:
        client.close()


async def test_the_first_send_after_a_redis_restart_is_retried(
    own_redis: RedisServer, settings: LazySettings
) -> None:
    # Every pooled connection dies with the restart: the next command on one fails,
    # and must be retried on a new connection (redis-py 5.x needs retry_on_error).
    config: Any = copy.deepcopy(settings.CHANNEL_LAYERS["default"]["CONFIG"])
    config["hosts"][0]["address"] = own_redis.url
    layer = RedisChannelLayer(**config)
    try:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "before"})  # the pool keeps its connection
        own_redis.stop()
        own_redis.start()
        await layer.send(channel, {"type": "after"})
        assert (await asyncio.wait_for(layer.receive(channel), 10))["type"] == "after"
    finally:
        await layer.close_pools()


@pytest.fixture
def server_on_own_redis(
    tmp_path: Path, own_redis: RedisServer, accounts: dict[str, str]
) -> Iterator[Server]:
    env = {**accounts, "REDIS_URL": own_redis.url, "REDIS_MAX_CONNECTIONS": "5"}
    with running_server("production", tmp_path / "server.log", env=env) as server:
        yield server


async def test_a_burst_of_handshakes_waits_for_the_pool_and_holds_no_more(
    server_on_own_redis: Server, own_redis: RedisServer
) -> None:
    # 200 joins at once used to open (and keep) a connection each; a pool that
    # raises when full refused most of them. Now they queue for 5 connections.
    url = server_on_own_redis.url + "/ws/chat/burst/"
    clients = await asyncio.wait_for(
        asyncio.gather(*(connect(url, open_timeout=30) for _ in range(CLIENTS))), 60
    )
    try:
        await say(clients[0], "all in")
        # Five connections carry the 200 joins' presence news first: beside two busy
        # loops the first frame came 11 s later (all 200 heard "all in" each time).
        # A bound for a stuck room, not a speed goal.
        messages = await asyncio.gather(*(heard(client, 60) for client in clients))
        assert messages == ["all in"] * CLIENTS
        assert redis_clients(own_redis) <= 5 + 1  # the pool, and this question
    finally:
        await asyncio.gather(*(client.close() for client in clients))
    assert "Traceback" not in server_on_own_redis.log.read_text()


async def test_a_process_that_falls_behind_loses_no_group_message() -> None:
    # channels_redis queues a group message once per server process, for all its
    # sockets, and counts the capacity there: 300 unread ones (a join storm's
    # presence news, or a busy room on a loaded machine) must not make it drop the
    # next one, for every socket of that process at once.
    layer: Any = channel_layers["default"]
    channel = await layer.new_channel()
    await layer.group_add("behind", channel)
    for number in range(300):
        await layer.group_send("behind", {"type": "presence.changed", "n": number})
    await layer.group_send("behind", {"type": "chat.message", "message": "after"})
    received = [await asyncio.wait_for(layer.receive(channel), 10) for _ in range(301)]
    await layer.group_discard("behind", channel)
    assert [event.get("n") for event in received[:300]] == list(range(300))
    assert received[300] == {"type": "chat.message", "message": "after"}


@pytest.mark.parametrize("value", ["many", "0", "1", "-5", "2.5"])
def test_redis_max_connections_refuses_what_is_not_a_pool_size(
    accounts: dict[str, str], value: str
) -> None:
    result = manage("check", env={**accounts, "REDIS_MAX_CONNECTIONS": value})
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.endswith(
        f"REDIS_MAX_CONNECTIONS={value!r} is not a whole number of 2 or more: "
        "e.g. 20, the connections each process may open to Redis."
    )


async def echo_works(server: Server) -> None:
    for path in ("/ws/sc/", "/ws/ac/"):
        async with connect(server.url + path) as websocket:
            await websocket.send("echo")
            assert await asyncio.wait_for(websocket.recv(), 10) == "echo"


async def chat_flows_across(servers: list[Server]) -> bool:
    try:
        async with (
            connect(servers[0].url + "/ws/chat/outage/", open_timeout=5) as alice,
            connect(servers[1].url + "/ws/chat/outage/", open_timeout=5) as bob,
        ):
            said = f"back {time.monotonic()}"  # not one of an earlier try's
            await say(alice, said)
            while await heard(bob) != said:  # the room's history comes first
                pass
            return True
    except (OSError, WebSocketException, TimeoutError, ValueError):
        return False


async def test_redis_outage_spares_echo_and_chat_recovers(
    two_servers_on_own_redis: list[Server], own_redis: RedisServer
) -> None:
    one, two = two_servers_on_own_redis
    async with connect(one.url + "/ws/chat/outage/") as alice:
        own_redis.stop()
        try:
            for server in two_servers_on_own_redis:
                await echo_works(server)  # echo consumers do not use the layer

            # The chat send fails visibly: an error reply or a closed socket.
            try:
                await say(alice, "into the void")
                assert "error" in await next_in_room(alice)
            except ConnectionClosed:
                pass
            for server in two_servers_on_own_redis:
                await echo_works(server)
        finally:
            own_redis.start()

    back = time.monotonic()
    while not await chat_flows_across([one, two]):
        assert time.monotonic() - back < 20, "chat did not recover within 20 s"
        await asyncio.sleep(0.5)
    print(f"chat flowed again {time.monotonic() - back:.1f} s after Redis came back")
    for server in two_servers_on_own_redis:
        await echo_works(server)


def notifications(server: Server, session: str) -> connect:
    return connect(
        server.url + "/ws/notifications/",
        additional_headers={"Cookie": f"sessionid={session}"},
    )


async def push(*args: str, env: dict[str, str]) -> str:
    """manage.py push in a third process, as a cron job or a worker runs it."""
    result = await asyncio.to_thread(manage, "push", *args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_manage_py_push_reaches_a_users_sockets_on_both_servers(
    two_servers: list[Server], accounts: dict[str, str]
) -> None:
    one, two = two_servers
    alice = await asyncio.to_thread(session_cookie, "alice", accounts)
    bob = await asyncio.to_thread(session_cookie, "bob", accounts)
    async with (
        notifications(one, alice) as alice_one,
        notifications(two, alice) as alice_two,
        notifications(one, bob) as bob_one,
    ):
        said = await push("--user", "alice", "for alice", env=accounts)
        assert said == "Pushed to alice's sockets in group user_1.\n"  # her pk
        for websocket in (alice_one, alice_two):
            assert await heard(websocket) == "for alice"
        await push("--user", "bob", "for bob", env=accounts)
        assert await heard(bob_one) == "for bob"  # his first: alice's never came


async def test_a_worker_in_production_mode_pushes_its_progress_to_both_servers(
    two_servers: list[Server], accounts: dict[str, str]
) -> None:
    # The worker runs as on a production machine: DJANGO_DEBUG=0 and the server's
    # secrets, not manage.py's development default.
    worker = {**accounts, **SERVER_ENVIRONMENTS["production"], "DJANGO_DEBUG": "0"}
    one, two = two_servers
    alice = await asyncio.to_thread(session_cookie, "alice", accounts)
    async with notifications(one, alice) as on_one, notifications(two, alice) as on_two:
        job = ["progress", "--user", "alice", "--steps", "3", "--seconds", "0"]
        result = await asyncio.to_thread(manage, *job, env=worker)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "Done: 3 steps, pushed to alice's sockets.\n"
        for websocket in (on_one, on_two):
            steps = [
                json.loads(await asyncio.wait_for(websocket.recv(), 10))
                for _ in range(3)
            ]
            assert steps == [
                {"message": f"Step {n} of 3 done.", "step": n, "steps": 3}
                for n in (1, 2, 3)
            ]


async def test_manage_py_push_group_reaches_a_room_spanning_both_servers(
    two_servers: list[Server], accounts: dict[str, str]
) -> None:
    one, two = two_servers
    async with (
        connect(one.url + "/ws/chat/news/") as alice,
        connect(two.url + "/ws/chat/news/") as bob,
    ):
        said = await push("--group", "chat_news", "extra, extra", env=accounts)
        assert said == "Pushed to the sockets in group chat_news.\n"
        assert await heard(alice) == "extra, extra"
        assert await heard(bob) == "extra, extra"


@pytest.mark.parametrize(
    ("target", "line"),
    [
        (["--user", "nobody"], "CommandError: No user named 'nobody'"),
        (["--group", "café"], "CommandError: --group 'café': Group name must be"),
    ],
)
def test_manage_py_push_refuses_a_bad_target_with_one_line(
    accounts: dict[str, str], target: list[str], line: str
) -> None:
    result = manage("push", *target, "hello", env=accounts)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), result.stderr
