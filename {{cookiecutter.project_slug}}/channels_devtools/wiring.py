"""Static checks of the Channels wiring: settings.py, asgi.py, routing.py, consumers.py.

Plain Python (``ast``, no Django import) so that the cookiecutter post-gen hook and
Django's system checks (see ``checks.py``) run the very same rules. The guard may
refuse a wrong project but never a right one: what it cannot read (no source, a
setting computed at run time) it leaves alone.
"""

from __future__ import annotations

import ast
import functools
import importlib.machinery
import importlib.util
import sysconfig
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
    """A module-level assignment read from the settings source without importing it."""

    value: object  # UNKNOWN when it is computed at run time
    path: Path
    line: int


UNKNOWN = object()


def check_project(
    base_dir: Path,
    settings_module: str,
    installed_apps: Sequence[str] | None = None,
    asgi_application: str | None = None,
) -> list[Finding]:
    """Run every check on the project rooted at ``base_dir`` (where manage.py is).

    ``installed_apps`` and ``asgi_application`` are the live values when Django is
    loaded; without them they are read from the settings source, when it says.
    """
    base_dir = Path(base_dir)
    settings_path = module_source(base_dir, settings_module)
    settings: dict[str, Setting] = {}
    complete = False  # the settings source was read to its end, star imports too
    if settings_path is not None:
        settings, complete = read_settings(base_dir, settings_module)
    else:  # no source to point at: name the module as a path
        settings_path = Path(*settings_module.split(".")).with_suffix(".py")
    source_apps = settings.get("INSTALLED_APPS")
    apps_at = source_apps or Setting(None, settings_path, 1)
    if installed_apps is None and source_apps:
        if isinstance(source_apps.value, list | tuple):
            installed_apps = [str(app) for app in source_apps.value]
    source_asgi = settings.get("ASGI_APPLICATION")
    asgi_at = source_asgi or Setting(None, settings_path, 1)
    asgi_known = asgi_application is not None or complete
    if asgi_application is None and source_asgi:
        if isinstance(source_asgi.value, str):
            asgi_application = source_asgi.value
        else:
            asgi_known = False  # computed at run time: nothing to say

    local = local_modules(base_dir, settings_module)
    findings = []
    if installed_apps is not None:
        findings += check_installed_apps(apps_at.path, apps_at.line, installed_apps)
    if asgi_known:
        findings += check_asgi_setting(base_dir, asgi_at, asgi_application)
    asgi_module = (asgi_application or "").rpartition(".")[0]
    asgi_path = module_source(base_dir, asgi_module) if asgi_module else None
    if asgi_path is not None:
        findings += check_asgi_module(asgi_path, local)
    for app in local_apps(base_dir, installed_apps or [], local):
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
    else:
        findings += check_daphne_position(settings_path, line, installed_apps)
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


# Apps whose own runserver command replaces Daphne's when they come first.
RUNSERVER_APPS = ("django.contrib.staticfiles", "whitenoise.runserver_nostatic")


def check_daphne_position(
    settings_path: Path, line: int, installed_apps: Sequence[str]
) -> list[Finding]:
    """An error only where runserver stops being Daphne's; else first is advice."""
    daphne = installed_apps.index("daphne")
    position = f"position {daphne + 1}"
    before = [app for app in RUNSERVER_APPS if app in installed_apps[:daphne]]
    if before:
        return [
            Finding(
                f"{PREFIX}.E002",
                settings_path,
                line,
                f"'daphne' comes after {before[0]!r} in INSTALLED_APPS ({position}): "
                "runserver is that app's plain WSGI server and ws/ URLs get 404.",
                f"Move 'daphne' above {before[0]!r}; the top of INSTALLED_APPS is "
                "safest.",
            )
        ]
    if daphne == 0:
        return []
    return [
        Finding(
            f"{PREFIX}.W003",
            settings_path,
            line,
            f"'daphne' is not first in INSTALLED_APPS ({position}, after "
            f"{installed_apps[0]!r}). runserver is still Daphne's, but an app "
            "above it that brings its own runserver command would win.",
            "Move 'daphne' to the top of INSTALLED_APPS, as the Channels docs do.",
        )
    ]


def check_asgi_setting(
    base_dir: Path, where: Setting, asgi_application: str | None
) -> list[Finding]:
    """ASGI_APPLICATION names ``module.attribute`` and the module defines it."""
    if not asgi_application:
        return [
            Finding(
                f"{PREFIX}.E004",
                where.path,
                where.line,
                "ASGI_APPLICATION is not set.",
                'Set ASGI_APPLICATION = "<project>.asgi.application" in settings.py; '
                "runserver needs it to serve WebSockets.",
            )
        ]
    module, _, attribute = asgi_application.rpartition(".")
    spec = find_spec(base_dir, module) if module else None
    if spec is None:
        problem = f"no module {module!r} can be imported"
    else:
        path = source_of(spec)
        names = module_level_names(path) if path is not None else None
        if path is None or names is None or attribute in names:
            return []  # defined, or no source that could say otherwise
        problem = f"{path.name} does not define {attribute!r}"
    return [
        Finding(
            f"{PREFIX}.E005",
            where.path,
            where.line,
            f"ASGI_APPLICATION = {asgi_application!r} does not resolve: {problem}.",
            "Point ASGI_APPLICATION at the 'application' defined in your asgi.py, "
            'e.g. "<project>.asgi.application".',
        )
    ]


# -- asgi.py -----------------------------------------------------------------


def check_asgi_module(path: Path, local: set[str]) -> list[Finding]:
    """get_asgi_application() before project imports; http and websocket routed."""
    tree = parse_or_none(path)
    if tree is None:
        return []  # unreadable: importing it will say why
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
                        "import asgi.py cold: as soon as a consumer, or anything it "
                        "imports, imports a model, they crash with "
                        "AppRegistryNotReady. runserver hides it (Django is set up).",
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
    tree = parse_or_none(path) if path.is_file() else None
    if tree is None:
        return []
    findings = []
    for node in tree.body:
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
    tree = parse_or_none(path) if path.is_file() else None
    if tree is None:
        return []
    findings = []
    for node in ast.walk(tree):
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
    stat = path.stat()
    return parse_version(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def parse_version(path: str, mtime_ns: int, size: int) -> ast.Module:
    """Parsed once per file version: a process that checks twice reads once."""
    return ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)


def parse_or_none(path: Path) -> ast.Module | None:
    """The module's tree, or None when it cannot be read (Python will say why)."""
    try:
        return parse(path)
    except (OSError, SyntaxError, ValueError):
        return None


def read_settings(base_dir: Path, module: str) -> tuple[dict[str, Setting], bool]:
    """Module-level settings of ``module``, following ``from ... import *``.

    A value computed at run time (a call, ``+=``, an assignment under ``if``) reads
    as UNKNOWN. The flag says whether every line could be followed.
    """
    settings: dict[str, Setting] = {}
    complete = read_settings_into(settings, base_dir, module, set())
    return settings, complete


def read_settings_into(
    settings: dict[str, Setting], base_dir: Path, module: str, seen: set[str]
) -> bool:
    spec = find_spec(base_dir, module)
    path = source_of(spec) if spec is not None else None
    tree = parse_or_none(path) if path is not None and module not in seen else None
    if spec is None or path is None or tree is None:
        return False
    seen.add(module)
    package = module if spec.submodule_search_locations is not None else None
    package = package or module.rpartition(".")[0]
    complete = True
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.names[0].name == "*":
            target = absolute_name(package, node.level, node.module or "")
            if target is None:
                complete = False
            else:
                complete &= read_settings_into(settings, base_dir, target, seen)
            continue
        value: object = UNKNOWN
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                value = UNKNOWN
        for name in assigned_names(node):
            settings[name] = Setting(value, path, node.lineno)
    return complete


def assigned_names(node: ast.stmt) -> set[str]:
    """Names that a module-level statement binds, blocks under it included."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
        elif isinstance(child, ast.alias):
            names.add((child.asname or child.name).split(".")[0])
    return names


def absolute_name(package: str, level: int, name: str) -> str | None:
    """``from <level dots><name> import *`` written in ``package``, made absolute."""
    if not level:
        return name or None
    parts = package.split(".") if package else []
    if level - 1 > len(parts) or (level - 1 == len(parts) and not name):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, name] if name else base) or None


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


def module_level_names(path: Path) -> set[str] | None:
    """Names the module defines; None when it cannot tell (star import, __getattr__)."""
    tree = parse_or_none(path)
    if tree is None:
        return None
    names = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.names[0].name == "*":
            return None
        names |= assigned_names(node)
    return None if "__getattr__" in names else names


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


# -- finding modules -----------------------------------------------------------


def find_spec(base_dir: Path, dotted: str) -> importlib.machinery.ModuleSpec | None:
    """The spec Python would import ``dotted`` from, or None if there is none.

    manage.py puts the project folder first on sys.path, so look there first,
    package by package, without running any code. Otherwise ask Python itself
    (importlib.util.find_spec): an installed project, an editable install's finder.
    """
    spec = None
    search: list[str] | None = [str(base_dir)]
    parts = dotted.split(".")
    for depth in range(1, len(parts) + 1):
        if search is None:  # a module, not a package: it has no submodules
            spec = None
            break
        name = ".".join(parts[:depth])
        spec = importlib.machinery.PathFinder.find_spec(name, search)
        if spec is None:
            break
        search = spec.submodule_search_locations
        search = list(search) if search is not None else None
    if spec is not None:
        return spec
    try:
        return importlib.util.find_spec(dotted)
    except Exception:  # noqa: BLE001  (importing a parent package failed)
        return None


def source_of(spec: importlib.machinery.ModuleSpec) -> Path | None:
    """The .py file of a module; None for compiled-only or namespace packages."""
    origin = spec.origin
    if not spec.has_location or not origin or not origin.endswith(".py"):
        return None
    path = Path(origin)
    return path if path.is_file() else None


def module_source(base_dir: Path, dotted: str) -> Path | None:
    spec = find_spec(base_dir, dotted)
    return source_of(spec) if spec is not None else None


def package_folder(base_dir: Path, dotted: str) -> Path | None:
    """The folder of the package that ``dotted`` (an app or its AppConfig) is in."""
    while dotted:
        spec = find_spec(base_dir, dotted)
        if spec is not None and spec.submodule_search_locations:
            return Path(list(spec.submodule_search_locations)[0])
        dotted = dotted.rpartition(".")[0]
    return None


def is_environment_folder(folder: Path) -> bool:
    """site-packages and the like: what lives there is installed, not the project.

    Also any folder that holds installed distributions' metadata (``pip install
    --target``, an image's app folder): Django beside the project is not the project.
    """
    resolved = folder.resolve()
    return (
        resolved.name in {"site-packages", "dist-packages"}
        or resolved in environment_folders()
        or any(folder.glob("*.dist-info"))
    )


@functools.cache
def environment_folders() -> frozenset[Path]:
    return frozenset(
        Path(path).resolve()
        for key in ("purelib", "platlib")
        if (path := sysconfig.get_paths().get(key))
    )


def local_modules(base_dir: Path, settings_module: str) -> set[str]:
    """Top-level packages and modules of the project itself, plus relative imports.

    Those in the project folder; and, when the project is installed (``pip
    install .``), those of the distribution that holds the settings package.
    """
    names = {""}  # what a relative import's name starts with
    if base_dir.is_dir() and not is_environment_folder(base_dir):
        for child in base_dir.iterdir():
            if (child / "__init__.py").is_file():
                names.add(child.name)
            elif child.suffix == ".py" and child.name != "manage.py":
                names.add(child.stem)
    top = settings_module.split(".")[0]
    folder = package_folder(base_dir, top)
    if folder is not None and is_environment_folder(folder.parent):
        names |= distribution_modules(folder.parent, top)
    names.add(top)
    return names


def distribution_modules(folder: Path, top: str) -> set[str]:
    """The top-level names of the distribution in ``folder`` that installed ``top``.

    Reads only the *.dist-info beside it, not every distribution on sys.path
    (importlib.metadata.packages_distributions() would cost most of a check).
    """
    for info in folder.glob("*.dist-info"):
        try:
            record = (info / "RECORD").read_text(encoding="utf-8")
        except OSError:
            continue
        if f"{top}/" not in record and f"{top}.py," not in record:
            continue  # cheap: most RECORDs are other distributions'
        names = set()
        for line in record.splitlines():
            first = line.split(",", 1)[0].replace("\\", "/").split("/")[0]
            if first and not first.endswith((".dist-info", ".data")) and first != "..":
                names.add(first.removesuffix(".py"))
        if top in names:
            return names - {"__pycache__"}
    return set()


def local_apps(
    base_dir: Path, installed_apps: Iterable[str], local: set[str]
) -> list[Path]:
    """Folders of the installed apps that belong to this project."""
    folders = []
    for app in installed_apps:
        if app.split(".")[0] not in local:
            continue
        folder = package_folder(base_dir, app)
        if folder is not None and folder not in folders:
            folders.append(folder)
    return folders
