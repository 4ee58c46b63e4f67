"""Benchmark the generated project against a bare `websockets` echo server.

Renders the template (daphne and uvicorn), installs it, starts each server with the
generated README's production command pinned to CPU 0, drives it from CPU 1, and
prints tables with ratios against the baseline measured in the same run; then
chat messages/s with each message stored (SQLite, PostgreSQL) against chat with
storing replaced by a counter; logged-in handshakes on each `database` (SQLite, and
a throwaway PostgreSQL), with the peak of the server's database connections.
Traffic goes to 127.0.0.1 only; every loop is bounded in count and time.

    .venv/bin/python bench/run.py            # the full run (a few minutes)
    .venv/bin/python bench/run.py --quick    # tiny counts: does it still work?
"""

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import (  # noqa: E402
    TEMPLATE,
    ProjectVenv,
    load_generated_tests,
    render_template,
)

SERVER_CPU, CLIENT_CPU = 0, 1
# The CPUs this process may use at start, before main() pins it to CLIENT_CPU (its
# own affinity afterwards is that one CPU, and says nothing about the machine).
CPUS = os.sched_getaffinity(0)
PAYLOAD = "x" * 64
NO_LIMIT = {"DJANGO_WEBSOCKET_MESSAGES_PER_SECOND": "0"}
# The limit on, at a rate and burst no bench client reaches: it drops nothing, so
# its cost is the bucket's arithmetic and the wrapped receive and send.
UNREACHED_LIMIT = {
    "DJANGO_WEBSOCKET_MESSAGES_PER_SECOND": "1000000",
    "DJANGO_WEBSOCKET_MESSAGE_BURST": "1000000",
}
# Round trips on one socket before a ping-pong: a fresh server's first messages
# import and allocate what later ones reuse.
WARM_UP_MESSAGES = 200
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Counts:
    pingpong_connections: int
    pingpong_seconds: float
    memory_connections: int
    burst: int
    burst_concurrency: int
    broadcast_clients: int
    broadcast_messages: int
    logins: int
    logins_concurrency: int
    unread_messages: int
    chat_messages: int
    # Ping-pongs per setting of the rate limit, on a fresh server each, the order
    # alternating: the machine's drift weighs on both settings alike.
    limit_rounds: int


FULL = Counts(50, 10.0, 1000, 1000, 100, 200, 50, 2000, 100, 15_000, 2_000, 2)
QUICK = Counts(5, 1.0, 20, 40, 10, 10, 3, 20, 5, 100, 100, 1)
# Each message to the room of a client that never reads, as long as chat allows
# (DJANGO_CHAT_MESSAGE_MAX_BYTES): 15,000 of them are 60 MB.
UNREAD_MESSAGE = "x" * 4096
# The speaker sends so many, then hears them all before it sends more: the layer
# drops nothing for a client that keeps up.
UNREAD_BATCH = 50
# Seconds the whole room may take, on any server: 15,000 take under a minute.
UNREAD_TIMEOUT = 600
# A chat room of so many clients, one of them speaking, CHAT_BATCH messages at a
# time: what storing each message costs shows in a small room, where the one INSERT
# a message is a large share of its work.
CHAT_ROOM = 5
CHAT_BATCH = 50
# The generated ASGI application with ChatConsumer's storage replaced by a counter:
# the baseline of what storing costs, written into the bench's render only.
UNSTORED_APPLICATION = '''"""The benchmark's baseline: chat without storage."""

import itertools

from .asgi import application  # noqa: F401  (sets Django up first)
from {app} import history

ids = itertools.count(1)


async def store(room, user, text):
    return {{"id": next(ids), "message": text, "user": None, "sent": ""}}


history.store = store
'''
# The app's database on the bench's PostgreSQL; the sampler connects to another.
DATABASE = "bench"
SAMPLE_SECONDS = 0.02


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def pin(pid: int, cpu: int) -> None:
    if {SERVER_CPU, CLIENT_CPU} <= CPUS:
        os.sched_setaffinity(pid, {cpu})


@contextlib.contextmanager
def on_cpu(cpu: int) -> Iterator[None]:
    """This process on cpu for a while: what it starts meanwhile stays there, and
    so do their children (PostgreSQL forks a backend for each connection)."""
    before = os.sched_getaffinity(0)
    pin(0, cpu)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def add_packages(venv: ProjectVenv) -> None:
    """Let this process import the project venv's packages, after its own.

    The generated tests' postgres_server.py imports psycopg and django, which the
    bench's environment lacks; the project venv has them, for this same Python.
    """
    script = (
        "import json, sys, sysconfig; print(json.dumps([list(sys.version_info[:2]),"
        " sysconfig.get_path('purelib'), sysconfig.get_path('platlib')]))"
    )
    result = subprocess.run(
        [venv.python, "-c", script], capture_output=True, text=True, check=True
    )
    version, *paths = json.loads(result.stdout)
    if tuple(version) != sys.version_info[:2]:
        raise RuntimeError(
            f"{venv.path} is Python {version}, the bench {sys.version_info[:2]}: "
            "--venv needs a venv made with this Python"
        )
    sys.path.extend(path for path in dict.fromkeys(paths) if path not in sys.path)


def open_handles(pid: int, path: Path) -> int:
    """The process's open handles on that file: one per SQLite connection."""
    target, count = os.path.realpath(path), 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed since the listing
            count += os.readlink(fd) == target
    return count


class PeakSampler(threading.Thread):
    """The largest count() seen (connections, RSS), sampled while a load runs."""

    def __init__(self, count: Callable[[], int]) -> None:
        super().__init__(daemon=True)
        self.count, self.peak, self.samples = count, 0, 0
        self.done = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        deadline = time.monotonic() + 300
        try:
            while not self.done.wait(SAMPLE_SECONDS) and time.monotonic() < deadline:
                self.peak = max(self.peak, self.count())
                self.samples += 1
        except Exception as error:  # raised in the bench's thread, on exit
            self.error = error

    def __enter__(self) -> "PeakSampler":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join()
        if self.error and not exc[0]:
            raise RuntimeError("sampling during the load failed") from self.error


def echoed(label: str, result: dict[str, object]) -> dict[str, object]:
    """The ping-pong figures, once no reply was other than the echo."""
    first = result.pop("first error")
    if result.pop("error replies"):
        raise RuntimeError(f"{label}: a reply was not the echo: {first}")
    return result


def mean(runs: list[dict[str, object]]) -> dict[str, float]:
    """Each figure's mean over the runs."""
    return {
        column: statistics.mean(run[column] for run in runs)  # type: ignore[misc]
        for column in runs[0]
    }


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def pingpong(url: str, pid: int, counts: Counts) -> dict[str, object]:
    """Connections each send 64-byte frames and wait for the echo, for a while."""
    rtts: list[float] = []
    errors: list[str] = []  # replies that are not the echo: the limit's
    sockets = [
        await connect(url, compression=None) for _ in range(counts.pingpong_connections)
    ]
    deadline = time.perf_counter() + counts.pingpong_seconds

    async def loop(websocket: ClientConnection) -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await websocket.send(PAYLOAD)
            reply = await asyncio.wait_for(websocket.recv(), 10)
            rtts.append(time.perf_counter() - start)
            if reply != PAYLOAD:
                errors.append(str(reply))

    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(loop(websocket) for websocket in sockets))
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_before
    await asyncio.gather(*(websocket.close() for websocket in sockets))
    return {
        "msgs/s": len(rtts) / elapsed,
        "p50 ms": statistics.median(rtts) * 1000,
        "p99 ms": percentile(rtts, 0.99) * 1000,
        "cpu us/msg": cpu * 1e6 / len(rtts),
        "error replies": len(errors),
        "first error": errors[0] if errors else "",
    }


async def warm_up(url: str) -> None:
    async with connect(url, compression=None) as websocket:
        for _ in range(WARM_UP_MESSAGES):
            await websocket.send(PAYLOAD)
            await asyncio.wait_for(websocket.recv(), 10)


async def memory_per_connection(url: str, pid: int, counts: Counts) -> float:
    """kB of server memory per open connection, after one message on each."""
    await asyncio.sleep(0.5)
    before = rss_kib(pid)
    sockets = []
    for _ in range(counts.memory_connections):
        websocket = await connect(url, compression=None)
        await websocket.send(PAYLOAD)
        await asyncio.wait_for(websocket.recv(), 10)
        sockets.append(websocket)
    await asyncio.sleep(0.5)
    after = rss_kib(pid)
    await asyncio.gather(*(websocket.close() for websocket in sockets))
    return (after - before) * 1.024 / counts.memory_connections


async def connect_burst(url: str, counts: Counts) -> float:
    """p99 of connect times (ms) for a burst, so many at a time."""
    limit = asyncio.Semaphore(counts.burst_concurrency)
    times: list[float] = []

    async def one() -> None:
        async with limit:
            start = time.perf_counter()
            websocket = await connect(url, compression=None, open_timeout=30)
            times.append(time.perf_counter() - start)
            await websocket.close()

    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(counts.burst))), 120)
    return percentile(times, 0.99) * 1000


async def logged_in_handshakes(
    url: str, session: str, count: int, at_once: int
) -> tuple[dict[str, float], list[str]]:
    """count logged-in handshakes, at_once at a time, each closed once open; the
    rate, times, and what went wrong. ws/notifications/ refuses anonymous sockets
    with 403: each one that opens had its session and user read from the database.
    """
    limit = asyncio.Semaphore(at_once)
    times: list[float] = []
    errors: list[str] = []
    cookie = {"Cookie": f"sessionid={session}"}

    async def one() -> None:
        async with limit:
            start = time.perf_counter()
            try:
                websocket = await connect(
                    url, compression=None, open_timeout=30, additional_headers=cookie
                )
            except Exception as error:  # a refusal (403) or a timeout: counted
                errors.append(repr(error))
                return
            times.append(time.perf_counter() - start)
            await websocket.close()

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(count))), 120)
    elapsed = time.perf_counter() - started
    if not times:
        raise RuntimeError(f"no handshake of {count} opened: {errors[:3]}")
    return {
        "handshakes/s": len(times) / elapsed,
        "p50 ms": statistics.median(times) * 1000,
        "p99 ms": percentile(times, 0.99) * 1000,
        "errors": len(errors),
    }, errors


async def broadcast(url: str, counts: Counts) -> dict[str, float]:
    """One client sends; every client in the room counts what arrives."""
    clients = await asyncio.gather(
        *(
            connect(url, compression=None, open_timeout=30)
            for _ in range(counts.broadcast_clients)
        )
    )
    await asyncio.sleep(1)  # let every group_add land
    expected = counts.broadcast_messages
    received = [0] * len(clients)

    async def listen(index: int, websocket: ClientConnection) -> None:
        while received[index] < expected:
            reply = json.loads(await asyncio.wait_for(websocket.recv(), 10))
            if "message" in reply:
                received[index] += 1

    listeners = [asyncio.create_task(listen(i, ws)) for i, ws in enumerate(clients)]
    started = time.perf_counter()
    for n in range(expected):
        await clients[0].send(json.dumps({"message": f"m{n}"}))
    results = await asyncio.gather(*listeners, return_exceptions=True)
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(client.close() for client in clients))
    delivered = sum(received)
    return {
        "deliveries/s": delivered / elapsed,
        "complete %": 100 * delivered / (expected * len(clients)),
        "errors": sum(isinstance(result, Exception) for result in results),
    }


async def unread_client(url: str, pid: int, counts: Counts) -> dict[str, object]:
    """A chat room where one client never reads: the most the server grew by
    while the room's messages went out, over its size after a warm-up batch."""
    text = json.dumps({"message": UNREAD_MESSAGE})
    heard = 0
    # max_queue=1: the client library stops reading from the socket at once.
    async with (
        connect(url, max_queue=1, close_timeout=1) as unread,
        connect(url, max_size=None) as speaker,
    ):

        async def say() -> None:
            nonlocal heard
            target = heard + UNREAD_BATCH
            for _ in range(UNREAD_BATCH):
                await speaker.send(text)
            while heard < target:
                reply = json.loads(await asyncio.wait_for(speaker.recv(), 10))
                if "error" in reply:  # the cap or the rate limit: not measured
                    raise RuntimeError(f"{url}: the room refused a message: {reply}")
                heard += "message" in reply  # not the room's presence news

        await say()  # the warm-up: the room's first messages allocate for all
        await asyncio.sleep(0.5)
        before = rss_kib(pid)
        with PeakSampler(lambda: rss_kib(pid)) as sampler:
            peak = before
            for _ in range(counts.unread_messages // UNREAD_BATCH):
                await say()
                peak = max(peak, rss_kib(pid))
        grown = max(peak, sampler.peak) - before
        cut_off = "no"
        with contextlib.suppress(TimeoutError):
            try:
                for _ in range(heard + 100):  # every message, and the room's news
                    await asyncio.wait_for(unread.recv(), 2)
            except ConnectionClosed:
                cut_off = "yes"
    sent = counts.unread_messages
    return {
        "MB sent to the room": sent * len(text) / 1e6,
        "server grew MB": grown / 1024,
        "speaker heard": f"{heard - UNREAD_BATCH} of {sent}",
        "unread client cut off": cut_off,
    }


async def chat_rate(url: str, pid: int, counts: Counts) -> dict[str, object]:
    """One client of a room speaks; every client of it hears every message."""
    clients = [await connect(url, compression=None) for _ in range(CHAT_ROOM)]
    speaker, sent = clients[0], counts.chat_messages

    async def next_message(websocket: ClientConnection) -> None:
        while True:  # past the room's presence news
            reply = json.loads(await asyncio.wait_for(websocket.recv(), 10))
            if "error" in reply:
                raise RuntimeError(f"{url}: the room refused a message: {reply}")
            if "message" in reply:
                return

    async def listen(websocket: ClientConnection) -> None:
        for _ in range(sent):
            await next_message(websocket)

    try:
        await asyncio.sleep(0.5)  # the news of everyone's joining goes out first
        before = cpu_seconds(pid)
        started = time.perf_counter()
        listeners = [asyncio.create_task(listen(ws)) for ws in clients[1:]]
        for batch in range(0, sent, CHAT_BATCH):
            size = min(CHAT_BATCH, sent - batch)
            for n in range(batch, batch + size):
                await speaker.send(json.dumps({"message": f"m{n}"}))
            for _ in range(size):  # heard before it says more: nothing dropped
                await next_message(speaker)
        await asyncio.gather(*listeners)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(pid) - before
    finally:
        await asyncio.gather(*(client.close() for client in clients))
    return {"msgs/s": sent / elapsed, "cpu us/msg": cpu / sent * 1e6}


class Bench:
    def __init__(self, counts: Counts, workdir: Path, venv: Path | None) -> None:
        self.counts = counts
        self.workdir = workdir
        self.venv = ProjectVenv(venv) if venv else ProjectVenv.create(workdir / "venv")
        self.projects = {}
        for server in ("daphne", "uvicorn"):
            project = render_template(
                TEMPLATE,
                workdir / server,
                project_name=f"Bench {server}",
                asgi_server=server,
                channel_layer="redis",
                demo_page="no",
            )
            self.venv.install(project)
            self.projects[server] = project
        # The daphne project is database=sqlite (the default); this one differs
        # from it in the database alone.
        self.projects["postgres"] = render_template(
            TEMPLATE,
            workdir / "postgres",
            project_name="Bench postgres",
            asgi_server="daphne",
            channel_layer="redis",
            demo_page="no",
            database="postgres",
        )
        self.venv.install(self.projects["postgres"])
        add_packages(self.venv)
        packages = {
            name: load_generated_tests(project)
            for name, project in self.projects.items()
        }

        def modules(module: str) -> dict[str, ModuleType]:
            return {
                name: importlib.import_module(f"{package}.{module}")
                for name, package in packages.items()
            }

        self.servers = modules("servers")
        self.accounts = modules("accounts")
        self.redis_module = importlib.import_module(
            f"{packages['daphne']}.redis_server"
        )
        self.postgres_module = importlib.import_module(
            f"{packages['postgres']}.postgres_server"
        )

    def sqlite_database(self, name: str) -> str:
        """A migrated SQLite file of the bench's own for that project's servers:
        ChatConsumer stores every message, so chat needs the tables."""
        path = self.workdir / f"{name}.sqlite3"
        if not path.exists():
            # manage.py in production, as a deploy migrates.
            production = self.servers[name].SERVER_ENVIRONMENTS["production"]
            env = {**production, "DJANGO_SQLITE_PATH": str(path)}
            self.accounts[name].add_users(env, python=self.venv.python)
        return str(path)

    def start(  # noqa: ANN201
        self,
        name: str,
        settings: str | None = None,
        env: dict[str, str] | None = None,
    ):
        # The rate limit off unless env sets it: the throughput rows measure the
        # server, and at 10 messages a second per socket the limit would throttle
        # ping-pong and broadcast (and their figures would not compare with earlier
        # runs, made before the limit).
        env = {**NO_LIMIT, **(env or {})}
        if "DATABASE_URL" not in env and "DJANGO_SQLITE_PATH" not in env:
            env["DJANGO_SQLITE_PATH"] = self.sqlite_database(name)
        servers = self.servers[name]
        if settings:
            os.environ["DJANGO_SETTINGS_MODULE"] = settings
        try:
            server = servers.start_server(
                "production",
                self.workdir / f"{name}.log",
                python=self.venv.python,
                env=env,
            )
        finally:
            os.environ.pop("DJANGO_SETTINGS_MODULE", None)
        pin(server.process.pid, SERVER_CPU)
        return servers, server

    def start_bare(self) -> tuple[subprocess.Popen[bytes], int, str]:
        servers = self.servers["daphne"]
        port = servers.free_port()
        log = self.workdir / "bare.log"
        process = subprocess.Popen(
            [self.venv.python, str(ROOT / "bench" / "bare_echo.py"), str(port)],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        servers.wait_for_port(port, process, log)
        pin(process.pid, SERVER_CPU)
        return process, port, f"ws://127.0.0.1:{port}"

    def echo_rows(self) -> list[dict[str, object]]:
        rows = []
        process, _, url = self.start_bare()
        try:
            rows.append(self.measure("bare websockets echo", url, process.pid))
        finally:
            self.servers["daphne"].stop_server(process)
        for name in ("daphne", "uvicorn"):
            for path, consumer in (("/ws/ac/", "async"), ("/ws/sc/", "sync")):
                servers, server = self.start(name)  # a fresh server for each row
                try:
                    label = f"{name} + {consumer} echo consumer"
                    rows.append(
                        self.measure(label, server.url + path, server.process.pid)
                    )
                finally:
                    servers.stop_server(server.process)
        return rows

    def limit_rows(self) -> list[dict[str, object]]:
        """Server CPU per message with the rate limit off and on (never reached),
        for each production server and echo consumer."""
        rows = []
        settings = {"off": NO_LIMIT, "on": UNREACHED_LIMIT}
        for name in ("daphne", "uvicorn"):
            for path, consumer in (
                ("/ws/ac/", "MyAsyncConsumer"),
                ("/ws/sc/", "MySyncConsumer"),
            ):
                label = f"{name}, {path} {consumer}"
                runs: dict[str, list[dict[str, object]]] = {"off": [], "on": []}
                errors = 0
                for round_ in range(self.counts.limit_rounds):
                    for limit in ("off", "on") if round_ % 2 == 0 else ("on", "off"):
                        servers, server = self.start(name, env=settings[limit])
                        try:
                            url = server.url + path
                            asyncio.run(warm_up(url))
                            result = asyncio.run(
                                pingpong(url, server.process.pid, self.counts)
                            )
                        finally:
                            servers.stop_server(server.process)
                        errors += result["error replies"]  # type: ignore[operator]
                        runs[limit].append(echoed(f"{label}, limit {limit}", result))
                off, on = mean(runs["off"]), mean(runs["on"])
                rows.append(
                    {
                        "server, path consumer": label,
                        "msgs/s limit off": off["msgs/s"],
                        "msgs/s limit on": on["msgs/s"],
                        "cpu us/msg limit off": off["cpu us/msg"],
                        "cpu us/msg limit on": on["cpu us/msg"],
                        "on / off CPU": on["cpu us/msg"] / off["cpu us/msg"],
                        "error replies": errors,
                    }
                )
        return rows

    def measure(self, label: str, url: str, pid: int) -> dict[str, object]:
        # Memory first, on the fresh server, before other runs grow its heap.
        memory = asyncio.run(memory_per_connection(url, pid, self.counts))
        row: dict[str, object] = {"server + consumer": label}
        row.update(echoed(label, asyncio.run(pingpong(url, pid, self.counts))))
        row["kB/conn"] = memory
        row["connect p99 ms"] = asyncio.run(connect_burst(url, self.counts))
        return row

    @contextlib.contextmanager
    def own_redis(self) -> Iterator[None]:
        """A redis-server of the bench's own, named by REDIS_URL for the servers."""
        redis = self.redis_module.RedisServer(
            self.servers["daphne"].free_port(), self.workdir
        )
        redis.start()
        os.environ["REDIS_URL"] = redis.url
        try:
            yield
        finally:
            redis.stop()
            os.environ.pop("REDIS_URL", None)

    def broadcast_rows(self) -> list[dict[str, object]]:
        rows = []
        with self.own_redis():
            for layer, backend in LAYERS.items():
                settings = self.layer_settings(layer, backend) if backend else None
                servers, server = self.start("daphne", settings)
                try:
                    row: dict[str, object] = {"channel layer": layer}
                    url = server.url + "/ws/chat/bench/"
                    row.update(asyncio.run(broadcast(url, self.counts)))
                    rows.append(row)
                finally:
                    servers.stop_server(server.process)
        return rows

    def unread_rows(self) -> list[dict[str, object]]:
        """A client that never reads, on each server; the `daphne` command first."""
        commands = self.servers["daphne"].SERVER_COMMANDS
        serve = commands["production"]
        rows = []
        with self.own_redis():
            for label, name in (
                ("the daphne command", "daphne"),
                ("daphne (serve.py)", "daphne"),
                ("uvicorn", "uvicorn"),
            ):
                if label == "the daphne command":
                    module = serve.split()[1]  # -m <project>.serve
                    commands["production"] = serve.replace(module, "daphne", 1)
                try:
                    servers, server = self.start(name)
                finally:
                    commands["production"] = serve
                try:
                    url = server.url + "/ws/chat/unread/"
                    row: dict[str, object] = {"server": label}
                    unread = unread_client(url, server.process.pid, self.counts)
                    row.update(asyncio.run(asyncio.wait_for(unread, UNREAD_TIMEOUT)))
                    rows.append(row)
                finally:
                    servers.stop_server(server.process)
        baseline = rows[0]["server grew MB"]
        for row in rows:
            grown = row["server grew MB"]
            # Quick counts may fit in the kernel's buffers: nothing to divide by.
            ratio = grown / baseline if baseline else float("nan")  # type: ignore[operator]
            items = list(row.items())
            items.insert(3, ("vs the daphne command", ratio))
            row.clear()
            row.update(items)
        return rows

    @contextlib.contextmanager
    def own_postgres(self) -> Iterator[Any]:
        """A throwaway PostgreSQL holding DATABASE, named by DATABASE_URL."""
        postgres = self.postgres_module.PostgresServer(
            self.servers["postgres"].free_port()
        )
        try:
            # On the server's CPU, as SQLite's work is in the server's process.
            with on_cpu(SERVER_CPU):
                postgres.start()
            postgres.create_database(DATABASE)
            # In the environment too: the project's settings need it to load at
            # all in production, and collectstatic reads them before the server.
            os.environ["DATABASE_URL"] = postgres.url(DATABASE)
            yield postgres
        finally:
            postgres.remove()
            os.environ.pop("DATABASE_URL", None)

    def chat_storage_rows(self) -> list[dict[str, object]]:
        """Chat with every message stored, on SQLite and on PostgreSQL, against the
        same chat with storing replaced by a counter (daphne, the Redis layer)."""
        project = self.projects["daphne"]
        unstored = project / project.name / "bench_unstored.py"
        unstored.write_text(UNSTORED_APPLICATION.format(app="realtime"))
        rows: list[dict[str, object]] = []

        def row(label: str, name: str, env: dict[str, str], app: str = "") -> None:
            """One row; app: an ASGI application of the project's in asgi.py's
            place."""
            commands = self.servers[name].SERVER_COMMANDS
            serve = commands["production"]
            if app:
                asgi = f"{self.projects[name].name}.asgi:application"
                commands["production"] = serve.replace(asgi, app)
            try:
                servers, server = self.start(name, env=env)
            finally:
                commands["production"] = serve
            try:
                url = f"{server.url}/ws/chat/bench_{len(rows)}/"
                result = asyncio.run(chat_rate(url, server.process.pid, self.counts))
                rows.append({"messages": label, **result})
            finally:
                servers.stop_server(server.process)

        with self.own_redis():
            app = f"{project.name}.bench_unstored:application"
            row("not stored (ids from a counter)", "daphne", {}, app)
            row("stored, SQLite", "daphne", {})
            with self.own_postgres() as postgres:
                production = self.servers["postgres"].SERVER_ENVIRONMENTS["production"]
                env = {**production, "DATABASE_URL": postgres.url(DATABASE)}
                self.accounts["postgres"].add_users(env, python=self.venv.python)
                row(
                    "stored, PostgreSQL",
                    "postgres",
                    {"DATABASE_URL": postgres.url(DATABASE)},
                )
        baseline = rows[0]
        for each in rows:
            msgs, cpu = each["msgs/s"], each["cpu us/msg"]
            each["vs not stored msgs/s"] = msgs / baseline["msgs/s"]  # type: ignore[operator]
            each["vs not stored CPU"] = cpu / baseline["cpu us/msg"]  # type: ignore[operator]
        return rows

    def database_rows(self) -> tuple[list[dict[str, object]], list[str]]:
        """Logged-in handshakes on SQLite, then on PostgreSQL; the errors seen."""
        rows, errors = [], []
        path = self.workdir / "logins.sqlite3"
        env = {"DJANGO_SQLITE_PATH": str(path)}
        row, seen = self.logins(
            "sqlite", "daphne", env, lambda pid: open_handles(pid, path)
        )
        rows.append(row)
        errors += seen
        with self.own_postgres() as postgres:
            import psycopg  # the project venv's (add_packages)

            # One connection for every sample, to another database: a new one for
            # each would fork a PostgreSQL backend on the server's CPU 50 times a
            # second. Autocommit: each query sees pg_stat_activity as it is now.
            with psycopg.connect(postgres.url(), autocommit=True) as monitor:

                def connections(pid: int) -> int:
                    query = (
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                        "AND backend_type = 'client backend'"  # no autovacuum
                    )
                    return int(monitor.execute(query, (DATABASE,)).fetchone()[0])

                env = {"DATABASE_URL": postgres.url(DATABASE)}
                row, seen = self.logins("postgres", "postgres", env, connections)
                rows.append(row)
                errors += seen
        baseline = rows[0]["handshakes/s"]
        for row in rows:
            ratio = row["handshakes/s"] / baseline  # type: ignore[operator]
            items = list(row.items())
            items.insert(2, ("vs sqlite handshakes/s", ratio))
            row.clear()
            row.update(items)
        return rows, errors

    def logins(
        self,
        database: str,
        name: str,
        env: dict[str, str],
        connections: Callable[[int], int],
    ) -> tuple[dict[str, object], list[str]]:
        """One row: alice's handshakes on a fresh server of that project, with the
        in-memory layer, so that the rows differ in their database alone."""
        accounts = self.accounts[name]
        # manage.py in production, as a deploy migrates (the generated tests run it
        # with pytest-env's DJANGO_DEBUG=1, which a server must not inherit).
        env = {**self.servers[name].SERVER_ENVIRONMENTS["production"], **env}
        env = accounts.add_users(env, python=self.venv.python)
        session = accounts.session_cookie("alice", env, python=self.venv.python)
        settings = self.layer_settings("in-memory", IN_MEMORY, name)
        servers, server = self.start(name, settings, env)
        try:
            url = server.url + "/ws/notifications/"
            # A few first, one at a time: the first queries open the connections.
            _, errors = asyncio.run(logged_in_handshakes(url, session, 5, 1))
            if errors:
                raise RuntimeError(f"{database}: logged-in handshakes fail: {errors}")
            pid = server.process.pid
            with PeakSampler(lambda: connections(pid)) as sampler:
                result, errors = asyncio.run(
                    logged_in_handshakes(
                        url, session, self.counts.logins, self.counts.logins_concurrency
                    )
                )
        finally:
            servers.stop_server(server.process)
        if not sampler.samples:
            raise RuntimeError(f"{database}: no connection sample during the load")
        row: dict[str, object] = {"database": database, **result}
        row["peak connections"] = sampler.peak
        return row, [f"{database}: {error}" for error in errors]

    def layer_settings(
        self, layer: str, backend: dict[str, object], project_key: str = "daphne"
    ) -> str:
        """A settings module that swaps CHANNEL_LAYERS, beside the project's own."""
        project = self.projects[project_key]
        name = f"bench_settings_{layer.replace(' ', '_').replace('-', '_')}"
        (project / project.name / f"{name}.py").write_text(
            f"from .settings import *  # noqa: F403\n\n"
            f"CHANNEL_LAYERS = {{'default': {backend!r}}}\n"
            "CHANNEL_LAYERS['default'].setdefault('CONFIG', {})\n"
            "if 'hosts' in CHANNEL_LAYERS['default']['CONFIG']:\n"
            "    CHANNEL_LAYERS['default']['CONFIG']['hosts'] = "
            "[{'address': REDIS_URL, 'max_connections': 1000}]  # noqa: F405\n"
        )
        return f"{project.name}.{name}"


IN_MEMORY: dict[str, object] = {"BACKEND": "channels.layers.InMemoryChannelLayer"}
LAYERS: dict[str, dict[str, object] | None] = {
    "in-memory": IN_MEMORY,
    # None: the project's own CHANNEL_LAYERS, exactly as generated (its pool, its
    # capacity), rather than a copy that drifts from the template.
    "RedisChannelLayer (generated)": None,
    "RedisPubSubChannelLayer": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": []},
    },
}


def table(rows: list[dict[str, object]], baseline: dict[str, object] | None) -> str:
    columns = list(rows[0])
    if baseline:
        columns.insert(2, "vs bare msgs/s")
        columns.insert(columns.index("cpu us/msg") + 1, "vs bare CPU")
        for row in rows:
            row["vs bare msgs/s"] = row["msgs/s"] / baseline["msgs/s"]  # type: ignore[operator]
            row["vs bare CPU"] = row["cpu us/msg"] / baseline["cpu us/msg"]  # type: ignore[operator]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [
            f"{value:,.2f}" if isinstance(value, float) else str(value)
            for value in (row[column] for column in columns)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts, for CI")
    parser.add_argument("--venv", type=Path, help="an existing venv to install into")
    args = parser.parse_args()
    counts = QUICK if args.quick else FULL
    pin(0, CLIENT_CPU)
    with tempfile.TemporaryDirectory(prefix="channels-bench-") as workdir:
        bench = Bench(counts, Path(workdir), args.venv)
        echo = bench.echo_rows()
        limit = bench.limit_rows()
        fanout = bench.broadcast_rows()
        unread = bench.unread_rows()
        chat = bench.chat_storage_rows()
        databases, errors = bench.database_rows()
    print(
        f"Benchmark, {date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{'quick' if args.quick else 'full'} counts: {counts}"
    )
    print("\nPing-pong, memory and connect burst (server on CPU 0, client on CPU 1)\n")
    print(table(echo, echo[0]))
    print(
        "\nThe rate limit's cost per message: server CPU with "
        "DJANGO_WEBSOCKET_MESSAGES_PER_SECOND=0 (off) and at a rate never reached "
        f"(on), ping-pong as above, mean of {counts.limit_rounds} fresh server(s) "
        "each\n"
    )
    print(table(limit, None))
    print(f"\nBroadcast to {counts.broadcast_clients} clients in one room (daphne)\n")
    print(table(fanout, None))
    print(
        "\nA chat room where one client never reads, its speaker hearing every "
        f"message ({len(UNREAD_MESSAGE)}-byte texts, {UNREAD_BATCH} at a time; Redis "
        "layer; server peak RSS while sending, over RSS after a warm-up batch)\n"
    )
    print(table(unread, None))
    print(
        f"\nChat messages/s, stored and not: {counts.chat_messages} messages from one "
        f"client of a room of {CHAT_ROOM}, {CHAT_BATCH} at a time (daphne, the Redis "
        "layer; server CPU alone, PostgreSQL's own on CPU 0 too)\n"
    )
    print(table(chat, None))
    print(
        f"\nLogged-in handshakes to /ws/notifications/, {counts.logins} of them "
        f"{counts.logins_concurrency} at a time (daphne, in-memory layer; server and "
        "PostgreSQL on CPU 0)\n"
    )
    print(table(databases, None))
    for error in errors[:5]:
        print(f"  error: {error}")


if __name__ == "__main__":
    main()
