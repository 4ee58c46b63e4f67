"""SQLite under its own stack: writers in two processes of four threads each queue for
the write lock (settings.py: IMMEDIATE transactions, WAL, a timeout), none fails."""

import os
import subprocess
import sys
from pathlib import Path

from .accounts import make_database, new_database
from .servers import BASE_DIR

PROCESSES, THREADS, TRANSACTIONS = 2, 4, 40
COUNT = (
    "from django.contrib.auth import get_user_model; "
    "print(get_user_model().objects.filter(username__startswith='w').count())"
)
PRAGMAS = (
    "from django.db import connection; cursor = connection.cursor(); "
    "print(*(cursor.execute(f'PRAGMA {name}').fetchone()[0] "
    "for name in ('journal_mode', 'synchronous')))"
)
# What get_or_create and an admin form do: read, then write, in one transaction.
# Each process says "ready", then waits for the go file, so that both write at once.
WRITERS = f"""
import os, threading, time
from pathlib import Path
from django.contrib.auth import get_user_model
from django.db import OperationalError, connection, transaction
User = get_user_model()
name = os.environ["WRITER"]
errors = []
def write(thread):
    for number in range({TRANSACTIONS}):
        try:
            with transaction.atomic():
                User.objects.filter(username__startswith=name).count()
                User.objects.create(username="%s-%s-%s" % (name, thread, number))
        except OperationalError as error:
            errors.append(str(error))
    connection.close()
print("ready", flush=True)
go = Path(os.environ["GO"])
while not go.exists():
    time.sleep(0.01)
threads = [threading.Thread(target=write, args=(n,)) for n in range({THREADS})]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(len(errors), *sorted(set(errors)))
"""


def shell(code: str, env: dict[str, str], **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=BASE_DIR,
        env={**os.environ, **env, **extra},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_writers_in_two_processes_and_eight_threads_never_find_it_locked(
    tmp_path: Path,
) -> None:
    env = make_database(tmp_path)
    go = tmp_path / "go"
    writers = [
        shell(WRITERS, env, WRITER=f"w{number}", GO=str(go))
        for number in range(PROCESSES)
    ]
    try:
        for writer in writers:
            assert writer.stdout is not None
            assert writer.stdout.readline().strip() == "ready", writer.communicate()
        go.touch()
        results = [writer.communicate(timeout=120) for writer in writers]
    finally:
        for writer in writers:
            writer.kill()
    failed = [stdout.split(maxsplit=1) or [stderr] for stdout, stderr in results]
    total = PROCESSES * THREADS * TRANSACTIONS
    assert failed == [["0"]] * PROCESSES, f"failed, of {total}: {failed}"
    stdout, stderr = shell(COUNT, env).communicate(timeout=60)
    assert stdout.split() == [str(PROCESSES * THREADS * TRANSACTIONS)], stderr


def test_every_connection_writes_ahead_and_syncs_at_checkpoints(
    tmp_path: Path,
) -> None:
    # settings.py's init_command, on a file as the servers open it.
    env = new_database(tmp_path)
    stdout, stderr = shell(PRAGMAS, env).communicate(timeout=60)
    assert stdout.split() == ["wal", "1"], stderr  # 1: synchronous=NORMAL
