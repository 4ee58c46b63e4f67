"""The generated tree reads like startproject: user code apart from our tooling."""

import re
from pathlib import Path

from .conftest import ProjectVenv, copy_project

TOOLING_APP = "channels_devtools"


def top_level(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir() if path.name != "__pycache__"}


def test_project_package_holds_what_startproject_would_plus_the_policy(
    default_project: Path,
) -> None:
    package = default_project / "my_channels_project"
    assert top_level(package) == {
        "__init__.py",
        "settings.py",
        "asgi.py",
        "urls.py",
        "security.py",
        # What one client may send, for every consumer: the rate limit.
        "limits.py",
        # /healthz, answered before the host check: see the module's docstring.
        "health.py",
        # The production command (asgi_server=daphne): see the module's docstring.
        "serve.py",
    }


def test_channels_app_holds_only_what_the_user_edits(default_project: Path) -> None:
    app = default_project / "realtime"
    assert top_level(app) == {
        "__init__.py",
        "apps.py",
        "consumers.py",
        # GroupMember: what the consumers in groups share (a socket's memberships),
        # and the signals that close a user's sockets when their access ends.
        "groups.py",
        "access.py",
        # Who is in each chat room: renewed with the memberships, every heartbeat.
        "presence.py",
        # QueuedSendDispatch: what MySyncConsumer and startconsumer --sync share.
        "queued_send.py",
        "routing.py",
        "push.py",
        # Stored chat messages, replayed to a client that reconnects with ?since=.
        "models.py",
        "migrations",
        "admin.py",
        "history.py",
        # WebSocket tokens: the app's views and wstoken command issue them, the
        # project's security.py checks them (the dependency points at the app).
        "tokens.py",
        "views.py",
        "management",
        "templates",
        "static",
    }
    for command in ["push.py", "wstoken.py", "prunemessages.py"]:
        assert (app / "management" / "commands" / command).is_file(), command


def test_the_app_never_imports_the_project_package(default_project: Path) -> None:
    # An app that imports its project cannot be reused or moved.
    imports = re.compile(r"^\s*(?:from|import)\s+my_channels_project\b", re.M)
    offenders = [
        str(path.relative_to(default_project))
        for path in (default_project / "realtime").rglob("*.py")
        if imports.search(path.read_text())
    ]
    assert offenders == []


def test_tooling_app_holds_the_checker_its_checks_and_startconsumer(
    default_project: Path,
) -> None:
    tooling = default_project / TOOLING_APP
    for relative in [
        "wiring.py",
        "checks.py",
        "apps.py",
        "tests.py",
        "management/commands/startconsumer.py",
    ]:
        assert (tooling / relative).is_file(), relative


def test_project_works_with_the_tooling_app_deleted(
    installed_default_project: Path, project_venv: ProjectVenv, tmp_path: Path
) -> None:
    project = copy_project(installed_default_project, tmp_path / "copy")
    settings = project / "my_channels_project" / "settings.py"
    text, removed = re.subn(rf'\n\s*"{TOOLING_APP}",', "", settings.read_text())
    assert removed == 1
    settings.write_text(text)
    for path in sorted((project / TOOLING_APP).rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (project / TOOLING_APP).rmdir()
    # The editable install still maps the name to the original project's folder; a
    # package that refuses to import, first on the path, proves nothing imports it.
    blocker = tmp_path / "blocker" / TOOLING_APP
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(f"raise ImportError('{TOOLING_APP} is gone')")
    env = {"PYTHONPATH": str(blocker.parent)}

    check = project_venv.run(
        "manage.py", "check", "--fail-level", "WARNING", cwd=project, env=env
    )
    assert check.returncode == 0, check.stdout + check.stderr
    help_text = project_venv.run("manage.py", cwd=project, env=env).stdout
    assert "startconsumer" not in help_text and "runserver" in help_text
    tests = project_venv.run(
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "tests/test_consumers.py",
        "tests/test_wiring.py",
        cwd=project,
        env=env,
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert re.search(r"\d+ passed", tests.stdout.splitlines()[-1])
