"""The wiring checker: nothing wrong in this project as it stands, and its rules."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from django.conf import settings

from . import wiring

SETTINGS_MODULE = "{{ cookiecutter.project_slug }}.settings"
APPS = ["django.contrib.admin", "django.contrib.staticfiles", "channels"]


def test_wiring_has_no_findings() -> None:
    settings_module = os.environ["DJANGO_SETTINGS_MODULE"]
    assert wiring.check_project(Path(settings.BASE_DIR), settings_module) == []


def ids(installed_apps: list[str]) -> list[str]:
    findings = wiring.check_installed_apps(Path("settings.py"), 1, installed_apps)
    return [finding.id.rpartition(".")[2] for finding in findings]


def test_daphne_first_is_advice_unless_runserver_stops_being_daphnes() -> None:
    assert ids(["daphne", *APPS]) == []
    # runserver is still Daphne's: a warning, and migrate is not blocked.
    assert ids(["django.contrib.humanize", "daphne", *APPS]) == ["W003"]
    assert ids([*APPS[:1], "daphne", *APPS[1:]]) == ["W003"]
    # Their own runserver commands win over Daphne's: an error.
    assert ids([*APPS[:2], "daphne", *APPS[2:]]) == ["E002"]
    assert ids(["whitenoise.runserver_nostatic", "daphne", *APPS]) == ["E002"]


def test_early_import_hint_says_when_servers_crash(tmp_path: Path) -> None:
    asgi = tmp_path / "asgi.py"
    asgi.write_text(
        "import myapp.routing\n"
        "from django.core.asgi import get_asgi_application\n\n"
        "django_asgi_app = get_asgi_application()\n"
    )
    findings = wiring.check_asgi_module(asgi, {"myapp"})
    (finding,) = [f for f in findings if f.id.endswith("E006")]
    assert "as soon as a consumer, or anything it imports, imports a model" in (
        " ".join(finding.hint.split())
    )


# Records every file the checker opens; audit hooks cannot be removed, hence a
# process of its own.
OPENS = """
import sys
import sysconfig
from pathlib import Path
from channels_devtools import wiring
opened = []
sys.addaudithook(
    lambda event, args: event == "open" and opened.append(str(args[0]))
)
wiring.check_project(Path(sys.argv[1]), sys.argv[2])
print("\\n".join(opened))
"""


def test_the_checker_reads_only_the_projects_own_files() -> None:
    # Cheap enough for every migrate and runserver reload: no distribution
    # metadata from site-packages (that cost most of `manage.py check`).
    result = subprocess.run(
        [sys.executable, "-c", OPENS, str(settings.BASE_DIR), SETTINGS_MODULE],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    opened = [Path(path).resolve() for path in result.stdout.split()]
    assert opened  # it did read the project
    own = [Path(settings.BASE_DIR), Path(sysconfig.get_paths()["stdlib"])]
    own = [folder.resolve() for folder in own]
    outside = [path for path in opened if not any(map(path.is_relative_to, own))]
    assert outside == []
