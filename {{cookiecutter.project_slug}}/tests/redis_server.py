"""A throwaway redis-server for the tests: started on a free port, stopped by PID."""

import copy
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .servers import free_port


class RedisServer:
    def __init__(self, port: int, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed; the Redis tests need a real one: "
                "apt-get install redis-server (Debian, Ubuntu) or brew install redis."
            )
        self.binary = binary
        self.port = port
        self.folder = folder
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="session", autouse=True)
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real Redis for the channel layer, here and in the servers tests start."""
    redis = RedisServer(free_port(), tmp_path_factory.mktemp("redis"))
    redis.start()
    try:
        with pytest.MonkeyPatch.context() as environment:
            environment.setenv("REDIS_URL", redis.url)  # inherited by server processes
            yield redis
    finally:
        redis.stop()


@pytest.fixture(autouse=True)
def channel_layer_on_test_redis(redis_server: RedisServer, settings: Any) -> None:
    layer = copy.deepcopy(settings.CHANNEL_LAYERS)
    layer["default"]["CONFIG"]["hosts"][0]["address"] = redis_server.url
    settings.CHANNEL_LAYERS = layer  # Channels drops its cached layer on change
