"""The shipped benchmark still runs end to end (tiny counts; the full run is manual)."""

import subprocess
import sys

from .conftest import TEMPLATE, ProjectVenv


def table_rows(output: str) -> dict[str, dict[str, str]]:
    """Every table row by its first cell, as {column: cell} under its own header."""
    lines = output.splitlines()
    rows: dict[str, dict[str, str]] = {}
    header: list[str] = []
    for line, following in zip(lines, lines[1:] + [""], strict=True):
        if not line.startswith("| "):
            continue
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        if following.startswith("|---"):
            header = cells
        else:
            rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


def test_quick_benchmark_prints_its_tables(project_venv: ProjectVenv) -> None:
    result = subprocess.run(
        [sys.executable, str(TEMPLATE / "bench" / "run.py"), "--quick"]
        + ["--venv", str(project_venv.path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = table_rows(result.stdout)
    for label in [
        "bare websockets echo",
        "daphne + async echo consumer",
        "daphne + sync echo consumer",
        "uvicorn + async echo consumer",
        "uvicorn + sync echo consumer",
    ]:
        assert label in rows, result.stdout
    for path in [
        "daphne, /ws/ac/ MyAsyncConsumer",
        "daphne, /ws/sc/ MySyncConsumer",
        "uvicorn, /ws/ac/ MyAsyncConsumer",
        "uvicorn, /ws/sc/ MySyncConsumer",
    ]:  # the rate limit's cost: on at a rate never reached, it dropped nothing
        assert rows[path]["error replies"] == "0", result.stdout
        for column in [
            "msgs/s limit off",
            "msgs/s limit on",
            "cpu us/msg limit off",
            "cpu us/msg limit on",
            "on / off CPU",
        ]:
            assert float(rows[path][column].replace(",", "")) > 0, result.stdout
    for layer in [
        "in-memory",
        "RedisChannelLayer (generated)",
        "RedisPubSubChannelLayer",
    ]:  # broadcast: everything delivered, no errors
        assert rows[layer]["complete %"] == "100.00", result.stdout
        assert rows[layer]["errors"] == "0", result.stdout
    for server in ["the daphne command", "daphne (serve.py)", "uvicorn"]:
        heard, _, sent = rows[server]["speaker heard"].partition(" of ")
        assert heard == sent, result.stdout  # the room kept up
        # A peak over the size after the warm-up: never below it, as an end value
        # could be.
        assert float(rows[server]["server grew MB"]) >= 0, result.stdout
        assert float(rows[server]["MB sent to the room"]) > 0, result.stdout
    for label in ["not stored (ids from a counter)", "stored, SQLite"] + [
        "stored, PostgreSQL"
    ]:  # every client heard every message (chat_rate raises otherwise)
        assert float(rows[label]["msgs/s"].replace(",", "")) > 0, result.stdout
        assert float(rows[label]["vs not stored CPU"]) > 0, result.stdout
    assert rows["not stored (ids from a counter)"]["vs not stored msgs/s"] == "1.00"
    for database in ["sqlite", "postgres"]:  # every logged-in handshake opened
        assert rows[database]["errors"] == "0", result.stdout
        assert float(rows[database]["handshakes/s"].replace(",", "")) > 0
    assert rows["sqlite"]["vs sqlite handshakes/s"] == "1.00"
    # The pool keeps connections open between handshakes: the sampler sees them.
    assert int(rows["postgres"]["peak connections"]) > 0, result.stdout
