"""Run each generated project's own suite N times in a row; report passes per test.

Not part of the test suite (pytest collects only test_*.py, so CI never runs it): a
tool for finding flaky generated tests. For each combination of
tests/test_generated_projects.py it renders the template, installs the project once,
runs its `pytest` N times, optionally beside busy loops (--load N, or --busy-core for
one pinned to CPU 1), and prints a table of passes per test, each failure's assertion
line, and the slowest tests by median duration. Failing runs keep their output and
server logs under --workdir. Start small; the machine may be shared:

    .venv/bin/python tests/flakes.py --runs 2 --load 2
    .venv/bin/python tests/flakes.py --runs 10 --load 2 --python313
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import (  # noqa: E402
    TEMPLATE,
    ProjectVenv,
    python_313,
    render_template,
)
from tests.test_generated_projects import COMBINATIONS  # noqa: E402

BUSY_CPU = 1
# The busy loop ends by itself after this long, should this script die unkilled.
BUSY_LOOP_LIMIT_SECONDS = 6 * 3600
BUSY_LOOP = f"""
import os, sys, time
if sys.argv[1:] == ["pinned"]:
    os.sched_setaffinity(0, {{{BUSY_CPU}}})
end = time.monotonic() + {BUSY_LOOP_LIMIT_SECONDS}
while time.monotonic() < end:
    pass
"""


def start_busy_loops(count: int, pinned: bool) -> list[subprocess.Popen[bytes]]:
    """`count` busy loops, free to run on any core, or one pinned to BUSY_CPU."""
    if pinned:
        return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP, "pinned"])]
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(count)]


def label(answers: dict[str, str], python: str) -> str:
    name = "-".join(value for key, value in answers.items() if key != "project_name")
    return f"{name or 'default'} (py{python_version(python)})"


def python_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


class Outcome:
    """One test in one run, from pytest's JUnit XML report."""

    def __init__(self, case: ElementTree.Element) -> None:
        problems = [c for c in case if c.tag in {"failure", "error", "skipped"}]
        self.passed = not problems
        self.seconds = float(case.get("time") or 0)
        # The assertion line pytest reports (its "E   ..." lines), or its message.
        self.reason = ""
        for problem in problems:
            lines = (problem.text or "").splitlines()
            errors = [line[1:].strip() for line in lines if line.startswith("E ")]
            self.reason = " / ".join(errors[:2]) or problem.get("message", "")


def outcomes(junit: Path) -> dict[str, Outcome]:
    """Each test's id and outcome."""
    if not junit.exists():
        return {}
    return {
        f"{case.get('classname')}::{case.get('name')}": Outcome(case)
        for case in ElementTree.parse(junit).iter("testcase")
    }


def run_suite(
    venv: ProjectVenv, project: Path, folder: Path, runs: int
) -> tuple[Counter[str], dict[str, list[float]], list[str]]:
    """Run the project's suite `runs` times: passes and durations per test, and a
    report (a line per run, then each failure with its assertion line)."""
    passes: Counter[str] = Counter()
    durations: dict[str, list[float]] = {}
    seen: set[str] = set()
    lines = []
    for run in range(1, runs + 1):
        output = folder / f"run-{run}"
        output.mkdir(parents=True)
        junit = output / "junit.xml"
        started = time.monotonic()
        result = venv.run(
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rfE",
            f"--basetemp={output / 'tmp'}",
            f"--junitxml={junit}",
            cwd=project,
        )
        seconds = time.monotonic() - started
        (output / "pytest.txt").write_text(result.stdout + result.stderr)
        results = outcomes(junit)
        seen.update(results)
        passes.update(test for test, outcome in results.items() if outcome.passed)
        for test, outcome in results.items():
            durations.setdefault(test, []).append(outcome.seconds)
        failed = sorted(test for test, outcome in results.items() if not outcome.passed)
        if result.returncode == 0 and results and not failed:
            shutil.rmtree(output)  # keep only what a failure needs explaining
            lines.append(f"  run {run}: passed in {seconds:.0f} s")
            print(lines[-1], flush=True)
        else:
            summary = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
            lines.append(f"  run {run}: {summary} in {seconds:.0f} s; see {output}")
            for test in failed:
                lines.append(f"    failed: {test}")
                lines.append(f"      {results[test].reason[:400]}")
            print("\n".join(lines[-1 - 2 * len(failed) :]), flush=True)
    for test in seen:
        passes.setdefault(test, 0)
    return passes, durations, lines


def slowest(durations: dict[str, dict[str, list[float]]], count: int = 10) -> str:
    """The slowest tests over every project, by median seconds per run."""
    rows = sorted(
        (
            (statistics.median(seconds), name, test)
            for name, tests in durations.items()
            for test, seconds in tests.items()
        ),
        reverse=True,
    )
    lines = ["| median s | project | test |", "|---|---|---|"]
    lines += [
        f"| {median:.1f} | {name} | {test} |" for median, name, test in rows[:count]
    ]
    totals = {
        name: sum(statistics.median(seconds) for seconds in tests.values())
        for name, tests in durations.items()
    }
    lines.append("")
    lines += [
        f"{name}: {total:.0f} s of test time per run" for name, total in totals.items()
    ]
    return "\n".join(lines)


def table(results: dict[str, Counter[str]], runs: int, every_test: bool) -> str:
    """Passes per test and project: tests that failed at least once, or all."""
    columns = list(results)
    tests = sorted({test for passes in results.values() for test in passes})
    shown = [
        test
        for test in tests
        if every_test
        or any(passes.get(test, runs) < runs for passes in results.values())
    ]
    lines = [
        "| test | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for test in shown:
        cells = [
            f"{passes[test]}/{runs}" if test in passes else "-"
            for passes in results.values()
        ]
        lines.append(f"| {test} | " + " | ".join(cells) + " |")
    if len(shown) < len(tests):
        cells = [
            f"{sum(passes[test] == runs for test in passes)} tests, each {runs}/{runs}"
            for passes in results.values()
        ]
        lines.append("| every other test | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="suite runs per project")
    parser.add_argument(
        "--load",
        type=int,
        default=0,
        metavar="N",
        help="run N busy loops (on any core) meanwhile, stopped by PID at the end",
    )
    parser.add_argument(
        "--busy-core",
        action="store_true",
        help=f"keep CPU {BUSY_CPU} busy with a pinned busy loop meanwhile",
    )
    parser.add_argument(
        "--python313",
        action="store_true",
        help="also run the default project on Python 3.13 (see tests/test_matrix.py)",
    )
    parser.add_argument(
        "--only",
        type=int,
        action="append",
        help="run only COMBINATIONS[i] (repeatable); default: all",
    )
    parser.add_argument(
        "--workdir", type=Path, help="where renders, venvs and failed runs go"
    )
    parser.add_argument(
        "--every-test", action="store_true", help="list tests that never failed too"
    )
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="channels-flakes-"))
    plan = [
        (COMBINATIONS[index], sys.executable)
        for index in (args.only or range(len(COMBINATIONS)))
    ]
    if args.python313:
        plan.append(({}, python_313()))
    print(f"workdir: {workdir}", flush=True)

    busy = start_busy_loops(args.load, args.busy_core)
    results: dict[str, Counter[str]] = {}
    durations: dict[str, dict[str, list[float]]] = {}
    report = []
    venvs: dict[str, ProjectVenv] = {}
    try:
        for number, (answers, python) in enumerate(plan):
            name = label(answers, python)
            print(f"{name}: render and install", flush=True)
            folder = workdir / f"{number}"
            project = render_template(TEMPLATE, folder / "render", **answers)
            if python not in venvs:
                venvs[python] = ProjectVenv.create(folder / "venv", python)
            venvs[python].install(project)
            passes, times, lines = run_suite(venvs[python], project, folder, args.runs)
            results[name] = passes
            durations[name] = times
            report.extend([f"{name}:", *lines])
    finally:
        for loop in busy:
            loop.kill()  # by PID: only the processes this script started
            loop.wait()
    print()
    load = f", CPU {BUSY_CPU} busy" if args.busy_core else ""
    load = load or (f", {args.load} busy loops" if args.load else "")
    print(f"{args.runs} runs per project{load}")
    print("\n".join(report))
    print()
    print(table(results, args.runs, args.every_test))
    print()
    print(slowest(durations))


if __name__ == "__main__":
    main()
