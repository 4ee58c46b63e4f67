"""Refuse answers that would give a broken project, before anything is written."""

import keyword
import re
import sys
from pathlib import Path

# The template's own project folder: its pyproject.toml is the one list of what the
# project depends on, and its top-level folders are the project's own packages.
PROJECT_TEMPLATE = Path({{ "{{cookiecutter.project_slug}}"|in_template|tojson }})
# What the dependencies import in turn, for every option (the template tests check
# these against a real install): a package of one of these names in the project
# folder would be imported in its place.
ALSO_IMPORTED = {
    # django, channels, daphne (twisted, autobahn), whitenoise: what servers import
    "OpenSSL", "_cffi_backend", "asgiref", "attr", "attrs", "autobahn", "automat",
    "cbor2", "cffi", "constantly", "cryptography", "hyperlink", "idna", "incremental",
    "msgpack", "packaging", "pycparser", "service_identity", "sqlparse", "twisted",
    "txaio", "typing_extensions", "ujson", "zope",
    # django-cors-headers installs as corsheaders
    "corsheaders",
    # channels-redis and uvicorn[standard]
    "redis", "_yaml", "anyio", "click", "dotenv", "h11", "httptools", "uvloop",
    "watchfiles", "yaml",
    # dj-database-url and psycopg[binary,pool] (database=postgres)
    "dj_database_url", "psycopg", "psycopg_binary", "psycopg_pool",
    # pytest and playwright, which the project's tests run in
    "_pytest", "iniconfig", "pluggy", "pygments", "greenlet",
}  # fmt: skip
# App labels of django.contrib: Django refuses two installed apps with one label.
DJANGO_CONTRIB_LABELS = {
    "admin", "admindocs", "auth", "contenttypes", "flatpages", "gis", "humanize",
    "messages", "postgres", "redirects", "sessions", "sitemaps", "sites",
    "staticfiles", "syndication",
}  # fmt: skip
# A requirement line: "name", "name>=1", "name[extra]>=1" (its name is group 1).
REQUIREMENT = re.compile(r'^\s*"([A-Za-z0-9][\w.-]*)\s*(\[[^\]]*\])?\s*[<>=!~;,"]')
TABLE = re.compile(r"\[\[?[\w.-]+\]\]?")


def dependency_imports(pyproject: Path) -> set[str]:
    """Import names of every requirement in pyproject.toml, extras included.

    The file is a Jinja template, not yet TOML: read its requirement lines, one
    per line, in ``dependencies`` and ``[project.optional-dependencies]``.
    """
    names = set()
    table, in_dependencies = "", False
    for line in pyproject.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if TABLE.fullmatch(stripped):
            table = stripped
        elif table == "[project]" and stripped.startswith("dependencies = ["):
            in_dependencies = True
        elif stripped == "]":
            in_dependencies = False
        wanted = in_dependencies or table == "[project.optional-dependencies]"
        if wanted and (match := REQUIREMENT.match(line)):
            names.add(re.sub(r"[-.]+", "_", match.group(1)).lower())
    return names


def own_top_level_names(project_template: Path) -> set[str]:
    """The generated project's own top-level folders and modules (tests, deploy)."""
    return {
        path.name.removesuffix(".py")
        for path in project_template.iterdir()
        if "{" not in path.name and path.name.removesuffix(".py").isidentifier()
    }


def shadowed_names() -> set[str]:
    """Every import name a slug must not take: the project folder comes first on
    sys.path, so a package there named like a module hides that module."""
    return (
        dependency_imports(PROJECT_TEMPLATE / "pyproject.toml")
        | own_top_level_names(PROJECT_TEMPLATE)
        | ALSO_IMPORTED
        | {"test", "tests"}
    )


# Longer names would push generated lines past ruff's 88 columns.
MAX_SLUG_LENGTH = 30
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def slug_problem(option: str, value: str, shadowed: set[str]) -> str | None:
    fix = f"answer the {option} prompt with a lowercase name such as my_project"
    if not value.isidentifier() or not value.isascii():
        return f"{option} {value!r} is not a valid Python identifier: {fix}."
    if len(value) > MAX_SLUG_LENGTH:
        return (
            f"{option} {value!r} is longer than {MAX_SLUG_LENGTH} characters: "
            f"{fix}."
        )
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return f"{option} {value!r} is a Python keyword: {fix}."
    if value in shadowed or value in sys.stdlib_module_names:
        return (
            f"{option} {value!r} would shadow the {value!r} module the project "
            f"imports: {fix}."
        )
    if option == "app_slug" and value in DJANGO_CONTRIB_LABELS:
        return (
            f"app_slug {value!r} is the label of Django's django.contrib.{value} app, "
            f"and app labels must be unique: {fix}."
        )
    return None


def problems(answers: dict[str, str], shadowed: set[str]) -> list[str]:
    found = [
        problem
        for option in ("project_slug", "app_slug")
        if (problem := slug_problem(option, answers[option], shadowed))
    ]
    if answers["project_slug"] == answers["app_slug"]:
        found.append(
            f"project_slug and app_slug are both {answers['app_slug']!r}: "
            "give the Channels app a name of its own, such as realtime."
        )
    if answers["author_email"] and not EMAIL.match(answers["author_email"]):
        found.append(
            f"author_email {answers['author_email']!r} is not an email address: "
            "answer with name@example.com, or leave it empty."
        )
    return found


if __name__ == "__main__":
    found = problems(
        {
            "project_slug": {{ cookiecutter.project_slug|tojson }},
            "app_slug": {{ cookiecutter.app_slug|tojson }},
            "author_email": {{ cookiecutter.author_email|tojson }},
        },
        shadowed_names(),
    )
    for problem in found:
        print(f"ERROR: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)
