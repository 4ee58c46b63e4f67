"""Break one thing in a generated project; the checker names exactly that."""

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
