"""Each option combination installs, passes `manage.py check` and its own tests."""

import re
from pathlib import Path

import pytest

from .conftest import ProjectVenv, Render

# Every pair of option values appears in at least one combination (pairwise: five
# is the fewest for four yes/no options with the default among them);
# test_render.py renders and lints all sixteen.
COMBINATIONS = [
    {},
    {"asgi_server": "uvicorn", "demo_page": "no", "database": "postgres"},
    {"channel_layer": "redis", "demo_page": "no", "database": "postgres"},
    {
        "project_name": 'Café "Live" d\'Été',
        "app_slug": "live_updates",
        "asgi_server": "uvicorn",
        "channel_layer": "redis",
        "database": "postgres",
    },
    {"channel_layer": "redis", "asgi_server": "uvicorn", "demo_page": "no"},
]


FAILURE = {"FAILED", "ERROR "}


def assert_suite_passed(output: str) -> None:
    summary = output.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), summary
    assert not re.search(r"failed|error|skipped|xfail|deselected", summary), summary


@pytest.mark.parametrize("answers", COMBINATIONS, ids=lambda a: "-".join(a.values()))
def test_generated_project_installs_checks_and_passes_its_tests(
    render: Render, project_venv: ProjectVenv, answers: dict[str, str]
) -> None:
    project: Path = render(**answers)
    project_venv.install(project)
    check = project_venv.run(
        "manage.py", "check", "--fail-level", "WARNING", cwd=project
    )
    assert check.returncode == 0, check.stdout + check.stderr
    tests = project_venv.run(
        "-m", "pytest", "-p", "no:cacheprovider", "-rfE", cwd=project
    )
    failures = [line for line in tests.stdout.splitlines() if line[:6] in FAILURE]
    assert tests.returncode == 0, "\n".join(failures) + tests.stdout[-3000:]
    assert_suite_passed(tests.stdout)
