"""tests/flakes.py reads what it reports from pytest's own JUnit XML."""

import subprocess
import sys
from pathlib import Path

from .flakes import outcomes, slowest

SAMPLE = """
def test_passes():
    pass

def test_fails():
    answer = 41
    assert answer == 42, "the answer is off by one"
"""


def test_outcomes_name_each_failure_with_its_assertion_line(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    junit = tmp_path / "junit.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
            "test_sample.py",
        ],
        cwd=tmp_path,
        capture_output=True,
    )
    results = outcomes(junit)
    assert {test: outcome.passed for test, outcome in results.items()} == {
        "test_sample::test_passes": True,
        "test_sample::test_fails": False,
    }
    reason = results["test_sample::test_fails"].reason
    assert "AssertionError: the answer is off by one" in reason
    table = slowest({"default": {"test_sample::test_fails": [0.5, 2.0, 1.0]}})
    assert "| 1.0 | default | test_sample::test_fails |" in table
