"""Fixtures shared by the tests."""

from collections.abc import Iterator
from typing import Any

import channels.consumer
import pytest
from django.conf import settings

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


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A test database in a file: Django never really closes an in-memory SQLite
    connection, and the consumer tests check that stale connections get closed."""
    database: dict[str, Any] = settings.DATABASES["default"]
    name = str(tmp_path_factory.mktemp("database") / "test.sqlite3")
    database["TEST"] = {**database.get("TEST", {}), "NAME": name}


@pytest.fixture
def database_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each time Channels' dispatch closes stale database connections."""
    hops: list[str] = []

    async def recording_close() -> None:
        hops.append("aclose_old_connections")

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", recording_close)
    return hops
