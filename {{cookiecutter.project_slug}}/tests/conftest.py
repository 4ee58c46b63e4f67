"""Fixtures shared by the tests."""

from collections.abc import Iterator
from pathlib import Path
{%- if cookiecutter.database == "sqlite" %}
from typing import Any
{%- endif %}

import channels.consumer
import pytest
from django.conf import settings
from django.test import override_settings
from pytest import TempPathFactory

# This process serves the ASGI application, as a server does: channels.testing
# runs the consumers here, so push.py's pushes through the in-memory layer reach them.
from {{ cookiecutter.project_slug }} import asgi  # noqa: F401

from .accounts import accounts, new_database, server_with_users  # noqa: F401
from .frontend import frontend_origin  # noqa: F401
{% if cookiecutter.database == "postgres" -%}
from .postgres_server import django_db_modify_db_settings, postgres_server  # noqa: F401
{% endif -%}
{% if cookiecutter.channel_layer == "redis" -%}
from .redis_server import channel_layer_on_test_redis, redis_server  # noqa: F401
{% endif -%}
from .servers import SERVER_COMMANDS, Server, start_server, stop_server


@pytest.fixture(autouse=True)
def static_files_without_manifest() -> Iterator[None]:
    # The test client renders pages before any collectstatic: plain names there.
    # The real servers in these tests run collectstatic first and use hashed names.
    plain = "django.contrib.staticfiles.storage.StaticFilesStorage"
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": plain}}
    with override_settings(STORAGES=storages):
        yield


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    # Django's docs advise a fast hasher in tests: PBKDF2 spends about a second on
    # each password set or checked here. The real servers keep the real hasher.
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    ):
        yield


@pytest.fixture(scope="session", autouse=True)
def servers_database(
    request: pytest.FixtureRequest, tmp_path_factory: TempPathFactory
) -> Iterator[None]:
    """A migrated database for every server and manage.py the tests start (the chat
    stores its messages), unless a test gives its own: never the project's own."""
{%- if cookiecutter.database == "postgres" %}
    request.getfixturevalue("postgres_server")  # first: it sets DATABASE_URL
{%- endif %}
    env = new_database(tmp_path_factory.mktemp("servers"))
    with pytest.MonkeyPatch.context() as environment:
        for name, value in env.items():
            environment.setenv(name, value)
        yield


class Servers:
    """One server of each kind per session, started when a test first needs it."""

    def __init__(self, folder: TempPathFactory) -> None:
        self.folder = folder
        self.running: dict[str, Server] = {}

    def get(self, kind: str) -> Server:
        if kind not in self.running:
            folder = self.folder.mktemp(kind)
            # A database each: a test run on both kinds uses one room name twice,
            # and would hear the first run's messages replayed on the second.
            env = new_database(folder)
            self.running[kind] = start_server(kind, folder / "server.log", env=env)
        return self.running[kind]

    def stop(self) -> None:
        for running in self.running.values():
            stop_server(running.process)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: TempPathFactory) -> Iterator[Servers]:
    started = Servers(tmp_path_factory)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session", params=list(SERVER_COMMANDS))
def server(request: pytest.FixtureRequest, servers: Servers) -> Server:
    return servers.get(request.param)


@pytest.fixture(scope="session")
def production_server(servers: Servers) -> Server:
    """The production command of README.md, for what only production does."""
    return servers.get("production")


{% if cookiecutter.database == "sqlite" -%}
@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A test database in a file: Django never really closes an in-memory SQLite
    connection, and the consumer tests check that stale connections get closed."""
    database: dict[str, Any] = settings.DATABASES["default"]
    name = str(tmp_path_factory.mktemp("database") / "test.sqlite3")
    database["TEST"] = {**database.get("TEST", {}), "NAME": name}


{% endif -%}


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
