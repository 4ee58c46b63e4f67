"""A throwaway database with users, for tests that log in to a real server."""

import asyncio
import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection

{% if cookiecutter.database == "postgres" -%}
from .postgres_server import create_test_database
{% endif -%}
from .servers import (
    BASE_DIR,
    SERVER_ENVIRONMENTS,
    Server,
    start_server,
    stop_server,
)

USERS = ("alice", "bob")
PASSWORD = "a-long-test-password-42"
# A separate frontend's origin, listed in DJANGO_WEBSOCKET_ALLOWED_ORIGINS; its host
# is in no ALLOWED_HOSTS, so only the list lets its pages in.
LISTED_ORIGIN = "http://app.example.test:5173"

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

# A user made for one test, and a token of theirs made invalid as CHANGE says: a
# clock two hours back makes it expire, the rest change the user after issuing it.
SPOILED_TOKEN = """
import datetime as dt
import os
from django.contrib.auth import get_user_model
from django.utils import timezone
from {{ cookiecutter.app_slug }}.tokens import make_token
name = os.environ["USERNAME"]
user = get_user_model().objects.create_user(name, password="a-long-password-1")
change = os.environ["CHANGE"]
clock = timezone.now() - dt.timedelta(hours=2) if change == "expired" else None
print(make_token(user, dt.timedelta(hours=1), now=clock).value)
if change == "password":
    user.set_password("a-long-password-2")
    user.save()
elif change == "inactive":
    user.is_active = False
    user.save()
elif change == "deleted":
    user.delete()
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


def new_database(folder: Path) -> dict[str, str]:
    """A new, migrated database; the environment that selects it."""
{%- if cookiecutter.database == "postgres" %}
    # A new database on the tests' PostgreSQL (postgres_server.py), named after the
    # folder pytest made for it, so each call gets its own.
    env = {"DATABASE_URL": create_test_database(folder.name)}
{%- else %}
    env = {"DJANGO_SQLITE_PATH": str(folder / "db.sqlite3")}
{%- endif %}
    result = manage("migrate", "--noinput", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return env


def make_database(folder: Path) -> dict[str, str]:
    """Migrate a new database, add USERS; return the environment that selects it."""
    return add_users(new_database(folder), migrate=False)


def add_users(
    env: dict[str, str], python: str = sys.executable, migrate: bool = True
) -> dict[str, str]:
    """Migrate the database that env selects and add USERS; env, with the key."""
    # Sessions are signed: every process that reads them needs the same key.
    key = SERVER_ENVIRONMENTS["production"]["DJANGO_SECRET_KEY"]
    env = {**env, "DJANGO_SECRET_KEY": key}
    steps = [["migrate", "--noinput"]] if migrate else []
    for args in [*steps, ["shell", "-v", "0", "-c", CREATE_USERS]]:
        result = manage(*args, env=env, python=python)
        assert result.returncode == 0, result.stdout + result.stderr
    return env


def session_cookie(
    username: str, env: dict[str, str], python: str = sys.executable
) -> str:
    """A logged-in session of that user, as a browser holds it after logging in."""
    env = {**env, "USERNAME": username}
    result = manage("shell", "-v", "0", "-c", SESSION_COOKIE, env=env, python=python)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def wstoken(username: str, env: dict[str, str]) -> str:
    """`manage.py wstoken USERNAME`, as a script gets its token."""
    result = manage("wstoken", username, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def spoiled_token(username: str, change: str, env: dict[str, str]) -> str:
    """A new user's token, then made invalid: expired, password, inactive, deleted."""
    env = {**env, "USERNAME": username, "CHANGE": change}
    result = manage("shell", "-v", "0", "-c", SPOILED_TOKEN, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def post(server: Server, path: str, cookies: dict[str, str], **headers: str) -> int:
    """POST as a browser's fetch() does; the HTTP status."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}",
        method="POST",
        headers={
            "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items()),
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def push_test_notification(server: Server, session: str) -> None:
    """The view, as the demo page's button calls it: session and CSRF token."""
    token = secrets.token_hex(16)  # the csrftoken cookie, echoed in the header
    cookies = {"sessionid": session}
    assert post(server, "/notifications/test/", cookies) == 403  # no CSRF token
    cookies["csrftoken"] = token
    status = post(server, "/notifications/test/", cookies, **{"X-CSRFToken": token})
    assert status == 204


async def received(websocket: ClientConnection) -> object:
    """The next JSON message, or TimeoutError after 10 s."""
    return json.loads(await asyncio.wait_for(websocket.recv(), 10))


@pytest.fixture(scope="session")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a database holding USERS, for servers and manage.py."""
    return make_database(tmp_path_factory.mktemp("accounts"))


@pytest.fixture(scope="session")
def server_with_users(
    accounts: dict[str, str],
    frontend_origin: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """The production server on the database where alice and bob can log in, and
    where pages on frontend_origin and LISTED_ORIGIN may open sockets."""
    log = tmp_path_factory.mktemp("users") / "server.log"
    origins = f"{frontend_origin},{LISTED_ORIGIN}"
    env = {**accounts, "DJANGO_WEBSOCKET_ALLOWED_ORIGINS": origins}
    server = start_server("production", log, env=env)
    try:
        yield server
    finally:
        stop_server(server.process)
