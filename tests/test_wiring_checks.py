"""Break one thing in a generated project; the checker names exactly that."""

import py_compile
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from .conftest import ProjectVenv, copy_project, load_wiring

SETTINGS = "my_channels_project/settings.py"
ASGI = "my_channels_project/asgi.py"
ROUTING = "realtime/routing.py"
CONSUMERS = "realtime/consumers.py"
APPS_LINE = "INSTALLED_APPS = ["
ROUTER_LINE = "application = ProtocolTypeRouter("
DAPHNE = '    "daphne",\n'
STATICFILES = '    "django.contrib.staticfiles",\n'
ROUTING_IMPORT = "\nimport realtime.routing\n"
SETUP = "django_asgi_app = get_asgi_application()\n"


class Mutation(NamedTuple):
    id: str
    file: str
    edits: list[tuple[str, str]]  # (old, new), applied in order, once each
    line_of: str | None  # the finding's line holds this text (None: line 1)


MUTATIONS = [
    Mutation("E001", SETTINGS, [(DAPHNE, "")], APPS_LINE),
    Mutation(
        "E002",
        SETTINGS,
        [(DAPHNE, ""), (STATICFILES, STATICFILES + DAPHNE)],
        APPS_LINE,
    ),
    Mutation("E003", SETTINGS, [('    "channels",\n', "")], APPS_LINE),
    Mutation(
        "E004",
        SETTINGS,
        [('ASGI_APPLICATION = "my_channels_project.asgi.application"\n', "")],
        None,
    ),
    Mutation(
        "E005",
        SETTINGS,
        [('.asgi.application"', '.asgi.app"')],
        "ASGI_APPLICATION =",
    ),
    Mutation(
        "E006",
        ASGI,
        [(ROUTING_IMPORT, "\n"), (SETUP, "import realtime.routing\n\n" + SETUP)],
        "import realtime.routing",
    ),
    Mutation("E007", ASGI, [('        "http": django_asgi_app,\n', "")], ROUTER_LINE),
    Mutation("E008", ASGI, [('"websocket":', '"websockets":')], ROUTER_LINE),
    Mutation(
        "E009",
        ROUTING,
        [("consumers.MySyncConsumer.as_asgi()", "consumers.MySyncConsumer")],
        'path("ws/sc/"',
    ),
    Mutation(
        "W001",
        CONSUMERS,
        [("        raise StopConsumer()\n", "        pass\n")],
        "def websocket_disconnect",
    ),
]


def mutate(project: Path, mutation: Mutation) -> int:
    """Apply the mutation once; return the line the finding should name."""
    path = project / mutation.file
    text = path.read_text()
    for old, new in mutation.edits:
        assert old in text, f"stale mutation: {old!r} not in {mutation.file}"
        text = text.replace(old, new, 1)
    path.write_text(text)
    if mutation.line_of is None:
        return 1
    return next(
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if mutation.line_of in line
    )


def test_untouched_project_has_no_findings(installed_default_project: Path) -> None:
    wiring = load_wiring(installed_default_project)
    assert (
        wiring.check_project(installed_default_project, "my_channels_project.settings")
        == []
    )


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_checker_and_manage_py_check_name_the_one_mistake(
    installed_default_project: Path,
    project_venv: ProjectVenv,
    tmp_path: Path,
    mutation: Mutation,
) -> None:
    project = copy_project(installed_default_project, tmp_path)
    line = mutate(project, mutation)
    wiring = load_wiring(project)
    findings = wiring.check_project(project, "my_channels_project.settings")
    found = [(finding.id, finding.path.name, finding.line) for finding in findings]
    expected_id = f"channels_template.{mutation.id}"
    assert found == [(expected_id, Path(mutation.file).name, line)]
    assert findings[0].hint  # every finding says how to fix it

    check = project_venv.run(
        "manage.py", "check", "--fail-level", "WARNING", cwd=project
    )
    assert check.returncode != 0
    assert expected_id in check.stderr
    assert f"{mutation.file.split('/')[-1]}:{line}" in check.stderr


def test_an_app_above_daphne_warns_and_blocks_nothing(
    installed_default_project: Path, project_venv: ProjectVenv, tmp_path: Path
) -> None:
    # runserver is still Daphne's: only an app with its own runserver may not win.
    project = copy_project(installed_default_project, tmp_path)
    line = mutate(
        project,
        Mutation(
            "W003",
            SETTINGS,
            [(DAPHNE, '    "django.contrib.humanize",\n' + DAPHNE)],
            APPS_LINE,
        ),
    )
    migrate = project_venv.run("manage.py", "migrate", "--no-input", cwd=project)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert f"settings.py:{line}: (channels_template.W003)" in migrate.stderr
    assert "channels_template.E" not in migrate.stderr


# -- right projects the guard must pass: never crash, never refuse ------------

BASE_DIR_LINE = "BASE_DIR = Path(__file__).resolve().parent.parent\n"
# What manage.py and the servers would otherwise default to; tests ask for debug.
DEBUG_ENVIRONMENT = {"DJANGO_DEBUG": "1"}


def split_settings(project: Path, init: str) -> Path:
    """The common refactor: settings.py becomes settings/{__init__,base,dev}.py."""
    package = project / "my_channels_project" / "settings"
    text = (project / SETTINGS).read_text()
    assert BASE_DIR_LINE in text, "stale edit: BASE_DIR line not in settings.py"
    text = text.replace(
        BASE_DIR_LINE, BASE_DIR_LINE.replace(".parent\n", ".parent" * 2 + "\n")
    )
    (project / SETTINGS).unlink()
    package.mkdir()
    (package / "base.py").write_text(text)
    (package / "dev.py").write_text(
        "from .base import *  # noqa: F403\n\nDEBUG = True\n"
    )
    (package / "__init__.py").write_text(init)
    return package


def assert_check_passes(
    venv: ProjectVenv, cwd: Path, settings: str = "my_channels_project.settings"
) -> None:
    """django-admin's check and migrate: no finding, no crash, nothing blocked."""
    for command in (["check", "--fail-level", "WARNING"], ["migrate", "--no-input"]):
        result = venv.run(
            "-m",
            "django",
            *command,
            f"--settings={settings}",
            cwd=cwd,
            env=DEBUG_ENVIRONMENT,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "channels_template" not in result.stderr


def test_settings_as_a_package_passes(
    installed_default_project: Path, project_venv: ProjectVenv, tmp_path: Path
) -> None:
    project = copy_project(installed_default_project, tmp_path)
    split_settings(project, "from .base import *  # noqa: F403\n")
    assert_check_passes(project_venv, project)
    wiring = load_wiring(project)
    assert wiring.check_project(project, "my_channels_project.settings") == []


def test_settings_module_at_a_submodule_passes_and_mistakes_are_still_named(
    installed_default_project: Path, project_venv: ProjectVenv, tmp_path: Path
) -> None:
    project = copy_project(installed_default_project, tmp_path)
    package = split_settings(project, "")
    assert_check_passes(project_venv, project, "my_channels_project.settings.dev")
    wiring = load_wiring(project)
    assert wiring.check_project(project, "my_channels_project.settings.dev") == []

    # The guard still reads the settings through `from .base import *`.
    base = package / "base.py"
    text = base.read_text()
    text = text.replace(DAPHNE, "", 1).replace(STATICFILES, STATICFILES + DAPHNE, 1)
    base.write_text(text)
    line = text.splitlines().index(APPS_LINE) + 1
    findings = wiring.check_project(project, "my_channels_project.settings.dev")
    found = [(finding.id, finding.path, finding.line) for finding in findings]
    assert found == [("channels_template.E002", base, line)]
    check = project_venv.run(
        "-m",
        "django",
        "check",
        "--settings=my_channels_project.settings.dev",
        env=DEBUG_ENVIRONMENT,
        cwd=project,
    )
    assert check.returncode != 0
    assert "channels_template.E002" in check.stderr
    assert f"base.py:{line}" in check.stderr


def test_renamed_asgi_module_named_by_asgi_application_passes(
    installed_default_project: Path, project_venv: ProjectVenv, tmp_path: Path
) -> None:
    project = copy_project(installed_default_project, tmp_path)
    entry = project / "my_channels_project" / "entry.py"
    (project / ASGI).rename(entry)
    settings = project / SETTINGS
    text = settings.read_text()
    assert '.asgi.application"' in text
    settings.write_text(text.replace('.asgi.application"', '.entry.application"'))
    assert_check_passes(project_venv, project)
    wiring = load_wiring(project)
    assert wiring.check_project(project, "my_channels_project.settings") == []

    # The renamed module is the one checked: its mistake is named in it.
    text = entry.read_text()
    text = text.replace(ROUTING_IMPORT, "\n", 1).replace(
        SETUP, "import realtime.routing\n\n" + SETUP, 1
    )
    entry.write_text(text)
    findings = wiring.check_project(project, "my_channels_project.settings")
    assert [(f.id, f.path.name) for f in findings] == [
        ("channels_template.E006", "entry.py")
    ]


def test_asgi_module_without_source_is_skipped(
    installed_default_project: Path, tmp_path: Path
) -> None:
    project = copy_project(installed_default_project, tmp_path)
    source = project / ASGI
    # A sourceless .pyc beside where the source was: Python imports it as is.
    py_compile.compile(str(source), cfile=str(source.with_suffix(".pyc")))
    source.unlink()
    wiring = load_wiring(project)
    assert wiring.check_project(project, "my_channels_project.settings") == []


# The default project's editable install in the shared venv, left out of the copy.
THE_PROJECTS_OWN = (
    "__editable__",
    "my_channels_project",
    "realtime",
    "channels_devtools",
)


def test_non_editable_install_passes(
    installed_default_project: Path, project_venv: ProjectVenv, tmp_path: Path
) -> None:
    project = copy_project(installed_default_project, tmp_path / "source")
    # A venv of its own (the shared one keeps its editable install) whose
    # site-packages links to the shared one's packages: Django and the project side
    # by side, as after a real install, with nothing downloaded.
    venv = ProjectVenv(tmp_path / "venv")
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", venv.path], check=True
    )
    shared, own = (
        Path(
            environment.run(
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                cwd=tmp_path,
            ).stdout.strip()
        )
        for environment in (project_venv, venv)
    )
    for entry in shared.iterdir():
        if not entry.name.startswith(THE_PROJECTS_OWN):
            (own / entry.name).symlink_to(entry)
    install = venv.run(
        "-m",
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        str(project),
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    shown = venv.run(
        "-c",
        "import my_channels_project; print(my_channels_project.__file__)",
        cwd=tmp_path,
    ).stdout
    assert shown.startswith(str(own)), (
        shown
    )  # the installed copy, not the source folder
    # Run from elsewhere, as a deployment would: django-admin, not manage.py.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert_check_passes(venv, outside)


def test_install_with_pip_target_beside_django_passes(
    installed_default_project: Path, project_venv: ProjectVenv, tmp_path: Path
) -> None:
    # `pip install --target site .`, as an image may do: Django and the project in
    # one folder that is no site-packages. Only the project's modules are its own.
    project = copy_project(installed_default_project, tmp_path / "source")
    site = tmp_path / "site"
    install = project_venv.run(
        "-m",
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "--target",
        str(site),
        str(project),
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    shared = Path(
        project_venv.run(
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            cwd=tmp_path,
        ).stdout.strip()
    )
    for entry in shared.iterdir():
        if not entry.name.startswith(THE_PROJECTS_OWN) and entry.suffix != ".pth":
            (site / entry.name).symlink_to(entry)
    venv = ProjectVenv(tmp_path / "bare")  # a Python with nothing installed
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", venv.path], check=True
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {**DEBUG_ENVIRONMENT, "PYTHONPATH": str(site)}

    def check() -> subprocess.CompletedProcess[str]:
        return venv.run(
            "-m",
            "django",
            "check",
            "--settings=my_channels_project.settings",
            cwd=outside,
            env=env,
        )

    result = check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "channels_template" not in result.stderr

    # The project's own module imported too early is still named there.
    asgi = site / ASGI
    text = asgi.read_text()
    asgi.write_text(
        text.replace(ROUTING_IMPORT, "\n", 1).replace(
            SETUP, "import realtime.routing\n\n" + SETUP, 1
        )
    )
    result = check()
    assert "channels_template.E006" in result.stderr
    assert "'realtime.routing'" in result.stderr
    assert "django.core.asgi" not in result.stderr
