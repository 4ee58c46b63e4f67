"""Fixtures shared by the tests."""

from collections.abc import Iterator
from pathlib import Path

import channels.consumer
import pytest

{% if cookiecutter.channel_layer == "redis" -%}
from .redis_server import channel_layer_on_test_redis, redis_server  # noqa: F401
{% endif -%}
from .servers import SERVER_COMMANDS, Server, start_server, stop_server


@pytest.fixture(scope="session", params=list(SERVER_COMMANDS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    log = tmp_path_factory.mktemp(request.param) / "server.log"
    running = start_server(request.param, log)
    try:
        yield running
    finally:
        stop_server(running.process)


@pytest.fixture
def database_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each time Channels' dispatch closes stale database connections."""
    hops: list[str] = []

    async def recording_close() -> None:
        hops.append("aclose_old_connections")

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", recording_close)
    return hops


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--containers",
        action="store_true",
        help="also build the Docker image and run the compose stack (minutes)",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # Not collected at all without --containers: a plain `pytest` stays fast and
    # reports no skipped tests.
    if collection_path.name == "test_containers.py":
        return not config.getoption("--containers")
    return None
