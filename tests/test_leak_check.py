"""The generated churn test's leak check fails on a real leak, on 3.11 and 3.13."""

from pathlib import Path

import pytest

from .conftest import ProjectVenv, copy_project

CHURN = "tests/test_churn.py"
# Each echo consumer keeps 4 KiB per connection for ever: a real, small leak.
LEAK = "LEAK.append(bytes(4096))\n"


def inject_leak(project: Path) -> None:
    consumers = project / "realtime" / "consumers.py"
    text = consumers.read_text()
    text = text.replace("Event = dict", "LEAK: list[bytes] = []\nEvent = dict", 1)
    accepts = [
        '        self.send({"type": "websocket.accept"})',
        '        await self.send({"type": "websocket.accept"})',
    ]
    for accept in accepts:
        assert accept in text, accept
        text = text.replace(accept, "        " + LEAK + accept, 1)
    consumers.write_text(text)


def run_churn(venv: ProjectVenv, project: Path) -> tuple[bool, str]:
    result = venv.run(
        "-m", "pytest", "-p", "no:cacheprovider", "-s", CHURN, cwd=project
    )
    return result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]


@pytest.mark.parametrize("python", ["3.11", "3.13"])
def test_churn_check_fails_a_4_kib_leak(
    installed_default_project: Path,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    python: str,
) -> None:
    # That the real consumers pass this check is the generated suite's own business:
    # tests/test_generated_projects.py (3.11) and tests/test_matrix.py (3.13) run it.
    if python == "3.11":
        venv: ProjectVenv = request.getfixturevalue("project_venv")
    else:
        venv = request.getfixturevalue("project_venv_313")
    leaky = copy_project(installed_default_project, tmp_path / "leaky")
    inject_leak(leaky)
    if python != "3.11":
        venv.install(leaky)  # 3.11's shared venv has the default project already
    passed, output = run_churn(venv, leaky)
    assert not passed, output
    assert "server heap grew by" in output, output
