"""PostgreSQL under load: two production servers stay within the pool's connection
budget, and connections that PostgreSQL killed or lost are replaced, not used."""

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator

import pytest
from websockets.asyncio.client import connect

from .accounts import add_users, manage, session_cookie
from .postgres_server import PostgresServer
from .servers import Server, free_port, start_server, stop_server

# settings.py's default DJANGO_DATABASE_POOL_SIZE, per server process; README.md,
# Production, gives the budget: pool size x processes.
POOL_SIZE = 10
SERVERS = 2
BUDGET = POOL_SIZE * SERVERS
DATABASE = "load"
# Fill a pool, let PostgreSQL end every connection, take one: the backend must find
# the first dead, then have psycopg check and replace all the others at once.
RECOVERY = """
import os, time
import psycopg
from django.db import connection
pool = connection.pool
pool.open()
held = [pool.getconn() for _ in range(pool.max_size)]
for held_connection in held:
    pool.putconn(held_connection)
ended = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> %s"
with psycopg.connect(os.environ["ADMIN_URL"], autocommit=True) as admin:
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
        [os.environ["DATABASE"]],
    )
    deadline = time.monotonic() + 10
    while admin.execute(ended, [os.environ["DATABASE"], 0]).fetchone()[0]:
        assert time.monotonic() < deadline, "PostgreSQL did not end them"
        time.sleep(0.05)
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
stats = pool.get_stats()
print(pool.max_size, stats.get("returns_bad", 0), stats.get("connections_lost", 0))
"""


class Stack:
    def __init__(self, postgres: PostgresServer, servers: list[Server], session: str):
        self.postgres = postgres
        self.servers = servers
        self.session = session

    def app_connections(self) -> int:
        """The servers' connections: the sampler's own are to another database."""
        rows = self.postgres.query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", DATABASE
        )
        return int(rows[0][0])

    async def handshake(self, index: int) -> str | None:
        """One logged-in socket to ws/notifications/ (it refuses anonymous ones);
        None when it opened, else what went wrong."""
        server = self.servers[index % len(self.servers)]
        try:
            async with connect(
                server.url + "/ws/notifications/",
                additional_headers={"Cookie": f"sessionid={self.session}"},
                open_timeout=30,
            ):
                return None
        except Exception as error:
            return repr(error)

    async def handshakes(self, count: int, at_once: int) -> list[str]:
        """count handshakes, at_once of them in flight; the failures."""
        gate = asyncio.Semaphore(at_once)

        async def one(index: int) -> str | None:
            async with gate:
                return await self.handshake(index)

        results = await asyncio.gather(*(one(index) for index in range(count)))
        return [result for result in results if result is not None]

    async def page(self, index: int) -> str | None:
        """One logged-in request for /admin/: Django serves each in a thread of its
        own, which holds a connection of its own; None when it answered 302."""
        server = self.servers[index % len(self.servers)]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(
                b"GET /admin/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                b"Cookie: sessionid=" + self.session.encode() + b"\r\n\r\n"
            )
            status = await asyncio.wait_for(reader.readline(), 30)
            writer.close()
        except Exception as error:
            return repr(error)
        # Not staff: the admin sends alice to its log-in page, after reading her
        # session and her user from the database.
        return None if status.split()[1:2] == [b"302"] else repr(status)

    async def load(self, count: int, at_once: int) -> list[str]:
        """count handshakes and count page requests, at_once of each in flight;
        the failures."""
        gate = asyncio.Semaphore(2 * at_once)

        async def one(request: Callable[[int], Awaitable[str | None]], index: int):
            async with gate:
                return await request(index)

        requests = [self.handshake, self.page] * count
        results = await asyncio.gather(
            *(one(request, index // 2) for index, request in enumerate(requests))
        )
        return [result for result in results if result is not None]

    def logs(self) -> str:
        return "".join(server.log.read_text() for server in self.servers)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # A cluster of its own: this module kills its connections and restarts it.
    postgres = PostgresServer(free_port())
    servers: list[Server] = []
    try:
        postgres.start()
        postgres.create_database(DATABASE)
        env = add_users({"DATABASE_URL": postgres.url(DATABASE)})
        folder = tmp_path_factory.mktemp("postgres-load")
        for number in range(SERVERS):
            log = folder / f"server-{number}.log"
            servers.append(start_server("production", log, env=env))
        yield Stack(postgres, servers, session_cookie("alice", env))
    finally:
        for server in servers:
            stop_server(server.process)
        postgres.remove()


class Sampler(threading.Thread):
    """The peak of the servers' connections, sampled while a load runs."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True)
        self.stack, self.peak, self.samples = stack, 0, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, self.stack.app_connections())
            self.samples += 1

    def __enter__(self) -> "Sampler":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join()


def assert_clean(logs: str) -> None:
    assert "too many clients" not in logs  # PostgreSQL's words for it
    assert "Traceback" not in logs, logs[-3000:]


async def test_400_logged_in_handshakes_and_pages_stay_within_the_budget(
    stack: Stack,
) -> None:
    with Sampler(stack) as sampler:
        failures = await stack.load(400, at_once=100)
    assert failures == [], f"{len(failures)} of 800 failed: {failures[:5]}"
    print(f"peak connections: {sampler.peak} of {BUDGET} ({sampler.samples} samples)")
    assert sampler.samples > 0
    assert 0 < sampler.peak <= BUDGET
    assert_clean(stack.logs())


async def test_connections_that_postgres_killed_are_replaced(stack: Stack) -> None:
    assert await stack.handshakes(20, at_once=10) == []  # the pools hold connections
    assert stack.app_connections() > 0
    stack.postgres.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
        DATABASE,
    )
    failures = await stack.handshakes(40, at_once=10)
    assert failures == [], f"{len(failures)} of 40 failed: {failures[:5]}"
    assert_clean(stack.logs())


def test_the_first_dead_connection_makes_the_pool_replace_them_all(
    stack: Stack,
) -> None:
    env = {
        "DATABASE_URL": stack.postgres.url(DATABASE),
        "ADMIN_URL": stack.postgres.url("postgres"),
        "DATABASE": DATABASE,
        "DJANGO_DATABASE_POOL_SIZE": "6",
    }
    result = manage("shell", "-v", "0", "-c", RECOVERY, env=env)
    assert result.returncode == 0, result.stderr
    # One dead connection handed back, the five others found by pool.check(): with
    # psycopg's check alone, one thread would find them 1 s, 2 s, 4 s... apart.
    assert result.stdout.split() == ["6", "1", "5"], result.stdout + result.stderr


async def test_handshakes_succeed_again_after_postgres_restarts(stack: Stack) -> None:
    assert await stack.handshakes(20, at_once=10) == []
    stack.postgres.stop()
    stack.postgres.start()
    deadline = asyncio.get_running_loop().time() + 20
    while await stack.handshake(0) or await stack.handshake(1):
        assert asyncio.get_running_loop().time() < deadline, "no handshake in 20 s"
    failures = await stack.handshakes(40, at_once=10)
    assert failures == [], f"{len(failures)} of 40 failed: {failures[:5]}"
    assert_clean(stack.logs())
