"""The Channels wiring: Django's checks and a cold ASGI import.

The wiring checker's own test lives with it, in channels_devtools/tests.py.
"""

import os
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command

from .servers import BASE_DIR


def test_daphne_is_first_in_installed_apps() -> None:
    assert settings.INSTALLED_APPS[0] == "daphne"
    assert "channels" in settings.INSTALLED_APPS


def test_manage_py_check_passes_without_warnings() -> None:
    call_command("check", fail_level="WARNING")


def test_asgi_module_imports_in_a_fresh_interpreter() -> None:
    # As daphne or uvicorn import it: Django not set up beforehand.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", "import {{ cookiecutter.project_slug }}.asgi"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
