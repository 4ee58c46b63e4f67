"""Prune the files of unchosen options, then check the generated wiring."""

import importlib.util
import shutil
import sys
from pathlib import Path

PROJECT_DIR = Path.cwd()
PROJECT_SLUG = {{ cookiecutter.project_slug|tojson }}
APP_SLUG = {{ cookiecutter.app_slug|tojson }}
# The tooling app: the wiring checker lives there, for this hook and manage.py check.
TOOLING_APP = "channels_devtools"

# Files that only one answer of an option keeps: (option, answer) -> paths.
# Every path listed under an answer that was not chosen is removed.
OPTIONAL_FILES: dict[tuple[str, str], list[str]] = {
    ("channel_layer", "redis"): [
        f"{PROJECT_SLUG}/layers.py",
        "tests/redis_server.py",
        "tests/test_redis_layer.py",
    ],
    ("asgi_server", "daphne"): [
        f"{PROJECT_SLUG}/serve.py",
    ],
    ("database", "postgres"): [
        f"{PROJECT_SLUG}/postgresql",
        "tests/postgres_server.py",
        "tests/test_postgres.py",
    ],
    ("database", "sqlite"): [
        "tests/test_sqlite.py",
    ],
    # static/<app>/socket.js stays: a client for the user's own pages, demo or not.
    ("demo_page", "yes"): [
        f"{APP_SLUG}/templates",
        f"{APP_SLUG}/static/{APP_SLUG}/demo.js",
        f"{APP_SLUG}/static/{APP_SLUG}/demo.css",
        "tests/test_demo_page.py",
        "tests/test_browser.py",
    ],
}

ANSWERS = {
    "asgi_server": {{ cookiecutter.asgi_server|tojson }},
    "channel_layer": {{ cookiecutter.channel_layer|tojson }},
    "demo_page": {{ cookiecutter.demo_page|tojson }},
    "database": {{ cookiecutter.database|tojson }},
}


def prune() -> None:
    for (option, answer), paths in OPTIONAL_FILES.items():
        if ANSWERS[option] == answer:
            continue
        for relative in paths:
            path = PROJECT_DIR / relative
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def load_wiring():
    """The project's own checker, the one `manage.py check` runs too."""
    path = PROJECT_DIR / TOOLING_APP / "wiring.py"
    spec = importlib.util.spec_from_file_location("generated_wiring", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def main() -> int:
    prune()
    wiring = load_wiring()
    findings = wiring.check_project(PROJECT_DIR, f"{PROJECT_SLUG}.settings")
    for finding in findings:
        print(f"ERROR: {finding}", file=sys.stderr)
    if findings:
        print(
            f"The generated project's Channels wiring is wrong ({len(findings)} "
            "finding(s) above); nothing was kept. Fix the template and render again.",
            file=sys.stderr,
        )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
