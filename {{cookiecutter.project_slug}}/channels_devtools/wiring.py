"""Static checks of the Channels wiring: settings.py, asgi.py, routing.py, consumers.py.

Plain Python (``ast``, no Django import) so that the cookiecutter post-gen hook and
Django's system checks (see ``checks.py``) run the very same rules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

PREFIX = "channels_template"


@dataclass(frozen=True)
class Finding:
    """One problem: a stable id, where it is, what is wrong and how to fix it."""

    id: str
    path: Path
    line: int
    message: str
    hint: str

    @property
    def is_error(self) -> bool:
        return ".E" in self.id

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}: {self.id} {self.message}\n    Fix: {self.hint}"


@dataclass(frozen=True)
class Setting:
    """A module-level assignment read from settings.py without importing it."""

    value: object
    line: int


def check_project(
    base_dir: Path,
    settings_module: str,
    installed_apps: Sequence[str] | None = None,
    asgi_application: str | None = None,
) -> list[Finding]:
    """Run every check on the project rooted at ``base_dir`` (where manage.py is).

    ``installed_apps`` and ``asgi_application`` are the live values when Django is
    loaded; without them they are read from the settings source.
    """
    base_dir = Path(base_dir)
    settings_path = module_path(base_dir, settings_module)
    settings = read_settings(settings_path)
    source_apps = settings.get("INSTALLED_APPS")
    apps_line = source_apps.line if source_apps else 1
    if installed_apps is None and source_apps:
        if isinstance(source_apps.value, list | tuple):
            installed_apps = [str(app) for app in source_apps.value]
    if asgi_application is None and "ASGI_APPLICATION" in settings:
        asgi_application = str(settings["ASGI_APPLICATION"].value)

    findings = check_installed_apps(settings_path, apps_line, installed_apps or [])
    findings += check_asgi_setting(base_dir, settings_path, asgi_application)
    asgi_path = asgi_module_path(base_dir, asgi_application)
    if asgi_path is not None and asgi_path.is_file():
        findings += check_asgi_module(asgi_path, local_modules(base_dir))
    for app in local_apps(base_dir, installed_apps or []):
        findings += check_routing(app / "routing.py")
        findings += check_consumers(app / "consumers.py")
    return findings


# -- settings.py -------------------------------------------------------------


def check_installed_apps(
    settings_path: Path, line: int, installed_apps: Sequence[str]
) -> list[Finding]:
    """Daphne first (so runserver is Daphne's), Channels present."""
    findings = []
    if "daphne" not in installed_apps:
        findings.append(
            Finding(
                f"{PREFIX}.E001",
                settings_path,
                line,
                "'daphne' is missing from INSTALLED_APPS.",
                "Add 'daphne' as the first entry of INSTALLED_APPS. Without it "
                "runserver is Django's plain WSGI server and every ws/ URL is a 404.",
            )
        )
    elif installed_apps[0] != "daphne":
        findings.append(
            Finding(
                f"{PREFIX}.E002",
                settings_path,
                line,
                f"'daphne' is not first in INSTALLED_APPS "
                f"(position {installed_apps.index('daphne') + 1}, "
                f"after {installed_apps[0]!r}).",
                "Move 'daphne' to the top of INSTALLED_APPS. It must come before "
                "'django.contrib.staticfiles', whose runserver command otherwise wins: "
                "runserver falls back to plain WSGI and WebSockets get 404.",
            )
        )
    if "channels" not in installed_apps:
        findings.append(
            Finding(
                f"{PREFIX}.E003",
                settings_path,
                line,
                "'channels' is missing from INSTALLED_APPS.",
                "Add 'channels' to INSTALLED_APPS (after 'daphne').",
            )
        )
    return findings


def check_asgi_setting(
    base_dir: Path, settings_path: Path, asgi_application: str | None
) -> list[Finding]:
    """ASGI_APPLICATION names ``module.attribute`` and the module defines it."""
    line = setting_line(settings_path, "ASGI_APPLICATION")
    if not asgi_application:
        return [
            Finding(
                f"{PREFIX}.E004",
                settings_path,
                line,
                "ASGI_APPLICATION is not set.",
                'Set ASGI_APPLICATION = "<project>.asgi.application" in settings.py; '
                "runserver needs it to serve WebSockets.",
            )
        ]
    path = asgi_module_path(base_dir, asgi_application)
    attribute = asgi_application.rpartition(".")[2]
    if path is None or not path.is_file():
        problem = f"no module file for {asgi_application.rpartition('.')[0]!r}"
    elif attribute not in module_level_names(path):
        problem = f"{path.name} does not define {attribute!r}"
    else:
        return []
    return [
        Finding(
            f"{PREFIX}.E005",
            settings_path,
            line,
            f"ASGI_APPLICATION = {asgi_application!r} does not resolve: {problem}.",
            "Point ASGI_APPLICATION at the 'application' defined in your asgi.py, "
            'e.g. "<project>.asgi.application".',
        )
    ]


# -- asgi.py -----------------------------------------------------------------


def check_asgi_module(path: Path, local: set[str]) -> list[Finding]:
    """get_asgi_application() before project imports; http and websocket routed."""
    tree = parse(path)
    findings = []
    setup_line = first_call_line(tree, "get_asgi_application")
    for node in tree.body:
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if setup_line is not None and node.lineno > setup_line:
            break
        for name in imported_modules(node):
            if name.split(".")[0] in local:
                findings.append(
                    Finding(
                        f"{PREFIX}.E006",
                        path,
                        node.lineno,
                        f"{name!r} is imported before get_asgi_application() is "
                        "called.",
                        "Move this import below `django_asgi_app = "
                        "get_asgi_application()`. Production servers (daphne, uvicorn) "
                        "import asgi.py cold and crash with AppRegistryNotReady; "
                        "runserver hides the mistake because Django is set up there.",
                    )
                )
    findings += check_protocol_router(path, tree)
    return findings


def check_protocol_router(path: Path, tree: ast.Module) -> list[Finding]:
    router = next(
        (
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and call_name(node) == "ProtocolTypeRouter"
        ),
        None,
    )
    if router is None:
        return [
            Finding(
                f"{PREFIX}.E008",
                path,
                1,
                "asgi.py builds no ProtocolTypeRouter, so WebSockets are not routed.",
                'Set application = ProtocolTypeRouter({"http": django_asgi_app, '
                '"websocket": URLRouter(websocket_urlpatterns)}).',
            )
        ]
    keys = set()
    if router.args and isinstance(router.args[0], ast.Dict):
        keys = {
            key.value
            for key in router.args[0].keys
            if isinstance(key, ast.Constant) and isinstance(key.value, str)
        }
    findings = []
    if "http" not in keys:
        findings.append(
            Finding(
                f"{PREFIX}.E007",
                path,
                router.lineno,
                'ProtocolTypeRouter has no "http" entry: no page or admin is served.',
                'Add "http": django_asgi_app (the get_asgi_application() result).',
            )
        )
    if "websocket" not in keys:
        findings.append(
            Finding(
                f"{PREFIX}.E008",
                path,
                router.lineno,
                'ProtocolTypeRouter has no "websocket" entry: no WebSocket is served.',
                'Add "websocket": URLRouter(<app>.routing.websocket_urlpatterns).',
            )
        )
    return findings


# -- routing.py and consumers.py ---------------------------------------------


def check_routing(path: Path) -> list[Finding]:
    """Each websocket_urlpatterns entry routes ``Consumer.as_asgi()``, not a class."""
    if not path.is_file():
        return []
    findings = []
    for node in parse(path).body:
        value = assigned_value(node, "websocket_urlpatterns")
        if not isinstance(value, ast.List):
            continue
        for entry in value.elts:
            if not isinstance(entry, ast.Call) or len(entry.args) < 2:
                continue
            target = entry.args[1]
            if isinstance(target, ast.Name | ast.Attribute):
                name = ast.unparse(target)
                findings.append(
                    Finding(
                        f"{PREFIX}.E009",
                        path,
                        entry.lineno,
                        f"websocket_urlpatterns routes the class {name} itself.",
                        f"Route {name}.as_asgi(): like .as_view() for views, it turns "
                        "the class into an ASGI application.",
                    )
                )
    return findings


def check_consumers(path: Path) -> list[Finding]:
    """A raw websocket_disconnect handler must raise StopConsumer (or call super)."""
    if not path.is_file():
        return []
    findings = []
    for node in ast.walk(parse(path)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if node.name != "websocket_disconnect" or stops_consumer(node):
            continue
        findings.append(
            Finding(
                f"{PREFIX}.W001",
                path,
                node.lineno,
                "websocket_disconnect does not raise StopConsumer: the consumer "
                "outlives its connection.",
                "End the handler with `raise StopConsumer()` "
                "(from channels.exceptions import StopConsumer).",
            )
        )
    return findings


def stops_consumer(function: ast.AST) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if ast.unparse(exc).split(".")[-1] == "StopConsumer":
                return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "websocket_disconnect"
            and isinstance(node.func.value, ast.Call)
            and call_name(node.func.value) == "super"
        ):
            return True  # the generic consumers' handler raises it
    return False


# -- reading source ----------------------------------------------------------


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def read_settings(path: Path) -> dict[str, Setting]:
    """Literal module-level assignments of settings.py (others are skipped)."""
    settings = {}
    for node in parse(path).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        try:
            literal = ast.literal_eval(value)
        except ValueError:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                settings[target.id] = Setting(literal, node.lineno)
    return settings


def setting_line(path: Path, name: str) -> int:
    for node in parse(path).body:
        if assigned_value(node, name) is not None:
            return node.lineno
    return 1


def assigned_value(node: ast.stmt, name: str) -> ast.expr | None:
    if isinstance(node, ast.Assign) and any(
        isinstance(target, ast.Name) and target.id == name for target in node.targets
    ):
        return node.value
    if (
        isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == name
    ):
        return node.value
    return None


def module_level_names(path: Path) -> set[str]:
    names = set()
    for node in parse(path).body:
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign | ast.FunctionDef | ast.ClassDef):
            target = node.target if isinstance(node, ast.AnnAssign) else node
            names.add(getattr(target, "id", getattr(target, "name", "")))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {alias.asname or alias.name for alias in node.names}
    return names


def first_call_line(tree: ast.Module, name: str) -> int | None:
    lines = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and call_name(node) == name
    ]
    return min(lines, default=None)


def call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def imported_modules(node: ast.Import | ast.ImportFrom) -> Iterable[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # a relative import is always the project's own
        return ["." * node.level + (node.module or "")]
    return [node.module or ""]


def module_path(base_dir: Path, dotted: str) -> Path:
    return base_dir.joinpath(*dotted.split(".")).with_suffix(".py")


def asgi_module_path(base_dir: Path, asgi_application: str | None) -> Path | None:
    module = (asgi_application or "").rpartition(".")[0]
    return module_path(base_dir, module) if module else None


def local_modules(base_dir: Path) -> set[str]:
    """Top-level packages and modules of the project itself, plus relative imports."""
    names = {""}  # what a relative import's name starts with
    for child in base_dir.iterdir():
        if (child / "__init__.py").is_file():
            names.add(child.name)
        elif child.suffix == ".py" and child.name != "manage.py":
            names.add(child.stem)
    return names


def local_apps(base_dir: Path, installed_apps: Iterable[str]) -> list[Path]:
    """Folders of the installed apps that live in this project."""
    folders = []
    for app in installed_apps:
        folder = base_dir / app.split(".")[0]
        if (folder / "__init__.py").is_file() and folder not in folders:
            folders.append(folder)
    return folders
