"""The shipped benchmark still runs end to end (tiny counts; the full run is manual)."""

import subprocess
import sys

from .conftest import TEMPLATE, ProjectVenv


def test_quick_benchmark_prints_both_tables(project_venv: ProjectVenv) -> None:
    result = subprocess.run(
        [sys.executable, str(TEMPLATE / "bench" / "run.py"), "--quick"]
        + ["--venv", str(project_venv.path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    labels = [row.split("|")[1].strip() for row in rows]
    for label in [
        "bare websockets echo",
        "daphne + async echo consumer",
        "daphne + sync echo consumer",
        "uvicorn + async echo consumer",
        "uvicorn + sync echo consumer",
        "in-memory",
        "RedisChannelLayer (generated)",
        "RedisPubSubChannelLayer",
    ]:
        assert label in labels, result.stdout
    for row in rows[-3:]:  # broadcast: everything delivered, no errors
        cells = [cell.strip() for cell in row.split("|")[1:-1]]
        assert cells[2:] == ["100.00", "0"], row
