"""Connect, send, vanish, thousands of times: every cycle served, nothing leaks."""

import asyncio
import socket
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from .servers import Server, start_server, stop_server

BATCH = 1000
CONCURRENCY = 50
BATCH_SECONDS = 120  # a bound, not a speed goal: a stuck batch fails the test
WARM_UP_BATCHES = 6  # at most; at least two (the first only sets a baseline)


@pytest.fixture
def production_server(tmp_path: Path) -> Iterator[Server]:
    server = start_server("production", tmp_path / "server.log")
    try:
        yield server
    finally:
        stop_server(server.process)


async def settled_rss_kib(pid: int) -> int:
    """The server's resident memory once the last disconnects have been handled."""
    await asyncio.sleep(1)
    status = Path(f"/proc/{pid}/status").read_text()
    return int(
        next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[
            1
        ]
    )


async def cycle(url: str) -> None:
    async with connect(url, open_timeout=10) as websocket:
        await websocket.send("ping")
        assert await asyncio.wait_for(websocket.recv(), 10) == "ping"
        sock = websocket.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        websocket.transport.abort()  # a TCP reset: no close frame


async def batch(server: Server) -> int:
    """Run BATCH cycles over both consumers; return how many were served."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(index: int) -> bool:
        async with limit:
            path = "/ws/sc/" if index % 2 else "/ws/ac/"
            try:
                await cycle(server.url + path)
            except Exception:
                return False
            return True

    results = await asyncio.wait_for(
        asyncio.gather(*(one(i) for i in range(BATCH))), BATCH_SECONDS
    )
    return sum(results)


async def test_churn_serves_every_cycle_without_leaking(
    production_server: Server,
) -> None:
    pid = production_server.process.pid
    # Warm up: pools and caches fill, and cyclic garbage reaches the level at which
    # Python's full collections keep it (on 3.13 that takes a few thousand cycles).
    # Done when one batch raises RSS by under 2%; a leak never gets there.
    warm, warm_up_batches = 0, 0
    while warm_up_batches < WARM_UP_BATCHES:
        assert await batch(production_server) == BATCH
        warm_up_batches += 1
        previous, warm = warm, await settled_rss_kib(pid)
        if warm < previous * 1.02:
            break
    for _ in range(2):
        assert await batch(production_server) == BATCH
    after = await settled_rss_kib(pid)
    print(
        f"server RSS: {warm} KiB after {warm_up_batches} warm-up batches, "
        f"{after} KiB after 2 more"
    )
    if sys.version_info < (3, 13):
        # On 3.13 this server's RSS under churn rises in erratic ~10 MB steps for
        # thousands of cycles before it levels off, which a 10% bound cannot tell
        # from a leak; everything else below holds there too.
        assert after <= warm * 1.10

    # Daphne kills (and logs) a consumer still running 10 s after its client left.
    await asyncio.sleep(11)
    log = production_server.log.read_text()
    assert "took too long to shut down" not in log
    assert "Traceback" not in log
    await cycle(production_server.url + "/ws/ac/")
