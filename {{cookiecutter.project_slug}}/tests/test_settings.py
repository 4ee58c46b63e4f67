"""Settings from the environment: development as generated, production on demand."""

import os
import secrets
import subprocess
import sys

import pytest

from .servers import BASE_DIR, PRODUCTION_COMMAND

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "example.com",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**environment, **env},
        capture_output=True,
        text=True,
    )


def test_deploy_check_passes_with_production_variables() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(missing: str) -> None:
    env = {key: value for key, value in PRODUCTION.items() if key != missing}
    result = manage("check", **env)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert f"{missing} is not set: production mode (DJANGO_DEBUG=0)" in last_line


def test_development_needs_no_variables() -> None:
    result = manage("check", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr


def test_readme_documents_the_production_command_the_tests_run() -> None:
    readme = (BASE_DIR / "README.md").read_text().replace("\\\n", " ")
    assert PRODUCTION_COMMAND.format(port=8000) in " ".join(readme.split())
