"""A throwaway PostgreSQL for the tests: its own cluster in a temporary folder, on a
free port, started as a subprocess and stopped by PID."""

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings

from .servers import free_port

INSTALL = (
    "PostgreSQL is not installed; the tests start a real one: apt-get install "
    "postgresql (Debian, Ubuntu) or brew install postgresql, or set PG_BINDIR to "
    "the folder that holds initdb and postgres."
)
# The cluster's first database; servers that need no users of their own use it.
DATABASE = "app"


def version_of(folder: str) -> list[int]:
    return [int(part) for part in Path(folder).parent.name.split(".") if part.isdigit()]


def postgres_bindir() -> Path:
    """The folder of initdb and postgres: Debian keeps them off PATH."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    if found := shutil.which("initdb"):
        candidates.append(str(Path(found).parent))
    # The newest first: /usr/lib/postgresql/17 before 9.6.
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(versions, key=version_of, reverse=True)
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    raise RuntimeError(INSTALL)


class PostgresServer:
    """One cluster; start() and stop() may be called again, as a restart."""

    def __init__(self, port: int) -> None:
        self.bindir = postgres_bindir()
        self.port = port
        self.password = secrets.token_hex(16)
        # PostgreSQL refuses to run as root: then it runs as the postgres user,
        # in a folder of its own (pytest's folders are closed to other users).
        self.user = "postgres" if os.geteuid() == 0 else None
        self.folder = Path(tempfile.mkdtemp(prefix="pytest-postgres-"))
        if self.user:
            os.chown(self.folder, pwd.getpwnam(self.user).pw_uid, -1)
        self.data = self.folder / "data"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str = DATABASE) -> str:
        password, port = self.password, self.port
        return f"postgres://postgres:{password}@127.0.0.1:{port}/{database}"

    def run(self, *args: str) -> None:
        result = subprocess.run(
            args, user=self.user, capture_output=True, text=True, cwd=self.folder
        )
        if result.returncode:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr}")

    def initialise(self) -> None:
        password_file = self.folder / "password"
        password_file.write_text(self.password)
        if self.user:
            os.chown(password_file, pwd.getpwnam(self.user).pw_uid, -1)
        self.run(
            str(self.bindir / "initdb"),
            "--pgdata", str(self.data), "--username", "postgres",
            "--pwfile", str(password_file), "--auth", "scram-sha-256",
            "--encoding", "UTF8", "--no-sync",
        )  # fmt: skip
        password_file.unlink()

    def start(self) -> None:
        if not self.data.exists():
            self.initialise()
        output = (self.folder / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            [str(self.bindir / "postgres"), "-D", str(self.data)]
            + ["-p", str(self.port), "-c", "listen_addresses=127.0.0.1"]
            + ["-c", f"unix_socket_directories={self.folder}"]
            # A test cluster: nothing here needs to survive a power cut.
            + ["-c", "fsync=off", "-c", "synchronous_commit=off"]
            + ["-c", "full_page_writes=off"],
            stdout=output,
            stderr=subprocess.STDOUT,
            user=self.user,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.folder / "postgres.log").read_text()
                raise RuntimeError(f"postgres exited early:\n{log}")
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                time.sleep(0.05)
        else:
            self.stop()
            raise TimeoutError(f"PostgreSQL did not answer on port {self.port}")
        self.create_database(DATABASE)  # kept across a restart

    def create_database(self, name: str) -> None:
        if not self.query("SELECT 1 FROM pg_database WHERE datname = %s", name):
            self.query(f'CREATE DATABASE "{name}"')

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """One statement as the superuser, outside the app's pools."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def create_test_database(name: str) -> str:
    """A new, empty database on the tests' PostgreSQL (DATABASE_URL); its URL."""
    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


@pytest.fixture(scope="session", autouse=True)
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL, here and in the servers tests start (DATABASE_URL)."""
    postgres = PostgresServer(free_port())
    try:
        postgres.start()
    except BaseException:
        postgres.remove()
        raise
    try:
        with pytest.MonkeyPatch.context() as environment:
            # Inherited by the servers and manage.py commands the tests start.
            environment.setenv("DATABASE_URL", postgres.url())
            yield postgres
    finally:
        postgres.remove()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(postgres_server: PostgresServer) -> None:
    """pytest-django's test database on this PostgreSQL, whatever DATABASE_URL said
    when the settings loaded (before this fixture could start the server)."""
    database: dict[str, Any] = settings.DATABASES["default"]
    url = urlsplit(postgres_server.url())
    database.update(
        HOST=url.hostname, PORT=url.port, USER=url.username, PASSWORD=url.password
    )
