"""A throwaway database with users, for tests that log in to a real server."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .servers import (
    BASE_DIR,
    SERVER_ENVIRONMENTS,
    Server,
    start_server,
    stop_server,
)

USERS = ("alice", "bob")
PASSWORD = "a-long-test-password-42"

CREATE_USERS = f"""
from django.contrib.auth import get_user_model
for name in {USERS!r}:
    get_user_model().objects.create_user(name, password={PASSWORD!r})
"""
# Django's test client logs in the way the login view does and saves the session.
SESSION_COOKIE = """
import os
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
client = Client()
user = get_user_model().objects.get_by_natural_key(os.environ['USERNAME'])
client.force_login(user)
print(client.cookies[settings.SESSION_COOKIE_NAME].value)
"""


def manage(
    *args: str, env: dict[str, str], python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    """manage.py in its own process, as a cron job or a worker runs it."""
    return subprocess.run(
        [python, "manage.py", *args],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def make_database(folder: Path) -> dict[str, str]:
    """Migrate a new SQLite file, add USERS; return the environment that selects it."""
    env = {
        "DJANGO_SQLITE_PATH": str(folder / "db.sqlite3"),
        # Sessions are signed: every process that reads them needs the same key.
        "DJANGO_SECRET_KEY": SERVER_ENVIRONMENTS["production"]["DJANGO_SECRET_KEY"],
    }
    for args in (["migrate", "--noinput"], ["shell", "-v", "0", "-c", CREATE_USERS]):
        result = manage(*args, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    return env


def session_cookie(username: str, env: dict[str, str]) -> str:
    """A logged-in session of that user, as a browser holds it after logging in."""
    result = manage(
        "shell", "-v", "0", "-c", SESSION_COOKIE, env={**env, "USERNAME": username}
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a database holding USERS, for servers and manage.py."""
    return make_database(tmp_path_factory.mktemp("accounts"))


@pytest.fixture(scope="session")
def server_with_users(
    accounts: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The production server on the database where alice and bob can log in."""
    log = tmp_path_factory.mktemp("users") / "server.log"
    server = start_server("production", log, env=accounts)
    try:
        yield server
    finally:
        stop_server(server.process)
