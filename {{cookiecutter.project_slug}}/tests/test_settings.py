"""Settings from the environment: production by default, development when asked."""

import os
import re
import secrets
import subprocess
import sys

import pytest

from .servers import BASE_DIR, PRODUCTION_COMMAND

SETTINGS = "{{ cookiecutter.project_slug }}.settings"
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "example.com",
}
FULL_HSTS = {
    "DJANGO_HSTS_SECONDS": "31536000",
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_HSTS_PRELOAD": "1",
}


def clean_environment(**env: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return {**inherited, **env}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
    )


def with_settings(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run code that imports the settings as daphne and uvicorn do: no manage.py,
    no defaults."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=clean_environment(DJANGO_SETTINGS_MODULE=SETTINGS, **env),
        capture_output=True,
        text=True,
    )


def settings_as_a_server_loads_them(**env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "from django.conf import settings; "
        "print(settings.DEBUG, settings.SECURE_HSTS_SECONDS, "
        "settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD)"
    )
    return with_settings(code, **env)


def test_debug_is_off_when_nobody_asks_for_it() -> None:
    secrets_only = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_DEBUG"}
    result = settings_as_a_server_loads_them(**secrets_only)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"


def test_without_debug_or_secrets_the_server_refuses_to_start() -> None:
    result = settings_as_a_server_loads_them()
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("value", "debug"),
    [
        *((value, "True") for value in ["1", "true", "yes", "on", "TRUE", "On"]),
        *((value, "False") for value in ["0", "false", "no", "off", "FALSE", "Off"]),
    ],
)
def test_debug_reads_only_clear_yes_and_no_values(value: str, debug: str) -> None:
    result = settings_as_a_server_loads_them(**{**PRODUCTION, "DJANGO_DEBUG": value})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == debug


@pytest.mark.parametrize("value", ["False ", "n", "2", "debug", ""])
def test_unrecognised_debug_value_is_refused_in_one_line(value: str) -> None:
    result = settings_as_a_server_loads_them(**{**PRODUCTION, "DJANGO_DEBUG": value})
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        f"django.core.exceptions.ImproperlyConfigured: DJANGO_DEBUG={value!r} is not "
        "a yes/no value: use one of 1, true, yes, on or 0, false, no, off."
    )


PRINT_DEBUG = ("shell", "-c", "from django.conf import settings; print(settings.DEBUG)")


def test_manage_py_asks_for_development() -> None:
    result = manage(*PRINT_DEBUG)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


def test_manage_py_stays_in_production_where_the_production_secret_is_set() -> None:
    # A production machine: its secrets in the environment, no DJANGO_DEBUG.
    secrets_only = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_DEBUG"}
    result = manage(*PRINT_DEBUG, **secrets_only)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
    # Without DJANGO_ALLOWED_HOSTS it refuses rather than fall back to debug.
    result = manage(*PRINT_DEBUG, DJANGO_SECRET_KEY=PRODUCTION["DJANGO_SECRET_KEY"])
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS is not set" in result.stderr.strip().splitlines()[-1]


def whitenoise_finders(**env: str) -> str:
    code = "from django.conf import settings; print(settings.WHITENOISE_USE_FINDERS)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=clean_environment(DJANGO_SETTINGS_MODULE=SETTINGS, **env),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_only_development_serves_static_files_collectstatic_has_not_copied() -> None:
    assert whitenoise_finders(**PRODUCTION) == "False"
    assert whitenoise_finders(DJANGO_DEBUG="1") == "True"


def test_hsts_starts_at_one_hour_without_subdomains_or_preload() -> None:
    result = settings_as_a_server_loads_them(**PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1:] == ["3600", "False", "False"]


def test_environment_raises_hsts() -> None:
    result = settings_as_a_server_loads_them(**PRODUCTION, **FULL_HSTS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1:] == ["31536000", "True", "True"]


def test_deploy_check_names_only_the_hsts_steps_left_by_default() -> None:
    result = manage("check", "--deploy", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    warnings = sorted(set(re.findall(r"\(([\w.]+)\)", result.stderr)))
    assert warnings == ["security.W005", "security.W021"], result.stderr


def test_production_refuses_a_wildcard_host_that_would_name_no_origin() -> None:
    result = settings_as_a_server_loads_them(
        **{**PRODUCTION, "DJANGO_ALLOWED_HOSTS": "*"}
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: DJANGO_ALLOWED_HOSTS holds "
        "'*', which names no WebSocket origin: list the hosts, or the origins whose "
        "pages may open WebSockets in DJANGO_WEBSOCKET_ALLOWED_ORIGINS (e.g. "
        "https://example.com)."
    )
    listed = {"DJANGO_WEBSOCKET_ALLOWED_ORIGINS": "https://example.com"}
    result = settings_as_a_server_loads_them(
        **{**PRODUCTION, "DJANGO_ALLOWED_HOSTS": "*", **listed}
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("hosts", ["*", ".example.com"])
def test_deploy_check_names_a_wildcard_host(hosts: str) -> None:
    env = {
        **PRODUCTION,
        "DJANGO_ALLOWED_HOSTS": hosts,
        "DJANGO_WEBSOCKET_ALLOWED_ORIGINS": "https://example.com",
    }
    result = manage("check", "--deploy", **env)
    assert result.returncode == 0, result.stderr
    assert f"(channels_template.W004) ALLOWED_HOSTS holds the wildcard {hosts!r}" in (
        result.stderr
    )


def test_deploy_check_passes_once_the_environment_raises_hsts() -> None:
    env = {**PRODUCTION, **FULL_HSTS}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stderr


def test_hsts_yes_no_variables_refuse_unclear_values() -> None:
    result = manage("check", **PRODUCTION, DJANGO_HSTS_PRELOAD="maybe")
    assert result.returncode != 0
    assert "DJANGO_HSTS_PRELOAD='maybe' is not a yes/no value" in result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(missing: str) -> None:
    env = {key: value for key, value in PRODUCTION.items() if key != missing}
    result = manage("check", **env)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert f"{missing} is not set: production mode" in last_line


def test_development_needs_no_variables() -> None:
    result = manage("check", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr


def test_readme_documents_the_production_command_the_tests_run() -> None:
    readme = (BASE_DIR / "README.md").read_text().replace("\\\n", " ")
    assert PRODUCTION_COMMAND.format(port=8000) in " ".join(readme.split())


def test_hsts_seconds_refuses_what_is_not_a_number() -> None:
    result = settings_as_a_server_loads_them(**PRODUCTION, DJANGO_HSTS_SECONDS="1y")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.endswith(
        "DJANGO_HSTS_SECONDS='1y' is not a whole number of seconds: "
        "e.g. 3600 (an hour) or 31536000 (a year)."
    )


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("0", "DJANGO_WEBSOCKET_HEARTBEAT_SECONDS must be 1 or more: e.g. 30."),
        ("5s", "DJANGO_WEBSOCKET_HEARTBEAT_SECONDS='5s' is not a whole number of"),
    ],
)
def test_a_heartbeat_that_is_not_a_whole_second_is_refused(
    value: str, error: str
) -> None:
    env = {**PRODUCTION, "DJANGO_WEBSOCKET_HEARTBEAT_SECONDS": value}
    result = settings_as_a_server_loads_them(**env)
    assert result.returncode != 0
    assert error in result.stderr.strip().splitlines()[-1]


def test_the_heartbeat_defaults_to_30_seconds_well_under_group_expiry() -> None:
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.WEBSOCKET_HEARTBEAT, "
        "settings.CHANNEL_LAYERS['default']['CONFIG']['group_expiry'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["30", "86400"]


def test_websocket_origins_are_read_as_full_origins() -> None:
    origins = "https://App.example.com, http://localhost:5173,http://[::1]:8080"
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; "
        "print(settings.WEBSOCKET_ALLOWED_ORIGINS == settings.CORS_ALLOWED_ORIGINS, "
        "*settings.WEBSOCKET_ALLOWED_ORIGINS)",
        DJANGO_WEBSOCKET_ALLOWED_ORIGINS=origins,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-4:] == [
        "True",
        "https://app.example.com",
        "http://localhost:5173",
        "http://[::1]:8080",
    ]


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com/",
        "https://app.example.com/path",
        "app.example.com",
        "ftp://app.example.com",
        "https://.example.com",
        "*",
        "https://*.example.com",
        "https://user:pw@app.example.com",
        "https://app.example.com:443",
        "http://localhost:99999",
        "http://localhost:port",
        "https://bücher.example",
    ],
)
def test_a_websocket_origin_that_is_not_one_is_refused_in_one_line(
    origin: str,
) -> None:
    env = {**PRODUCTION, "DJANGO_WEBSOCKET_ALLOWED_ORIGINS": f"http://ok.test,{origin}"}
    result = settings_as_a_server_loads_them(**env)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: "
        f"DJANGO_WEBSOCKET_ALLOWED_ORIGINS: {origin.lower()!r} is not an origin as "
        "browsers send it: write scheme://host[:port] with no path, trailing slash, "
        "user, wildcard or default port (punycode for non-ASCII names), e.g. "
        "https://app.example.com,http://localhost:5173."
    )
{%- if cookiecutter.database == "postgres" %}


def database_settings(**env: str) -> subprocess.CompletedProcess[str]:
    env.setdefault("DATABASE_URL", "postgres://shop:pw@db.internal/shop")
    code = (
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['ENGINE'], d['USER'], d['PASSWORD'], d['HOST'], d['PORT'], "
        "d['NAME'], d['CONN_MAX_AGE'], d['OPTIONS'])"
    )
    return with_settings(code, **env)


def test_production_reads_database_url_onto_the_pool() -> None:
    url = "postgres://shop:s%40cret@db.internal:6543/shop?sslmode=require"
    result = database_settings(**PRODUCTION, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(maxsplit=7) == [
        "{{ cookiecutter.project_slug }}.postgresql", "shop", "s@cret", "db.internal",
        "6543", "shop", "0",
        "{'sslmode': 'require', 'pool': {'min_size': 2, 'max_size': 10, "
        "'timeout': 20}}\n",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("postgresql://shop@db.internal/shop", "db.internal", ""),
        ("postgres:///shop", "", ""),  # no host: libpq's local socket
    ],
)
def test_other_forms_of_database_url_are_read(url: str, host: str, port: str) -> None:
    code = (
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(repr(d['HOST']), repr(d['PORT']), d['NAME'])"
    )
    result = with_settings(code, **PRODUCTION, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [repr(host), repr(port), "shop"]


def test_production_refuses_to_start_without_database_url() -> None:
    result = database_settings(**PRODUCTION, DATABASE_URL="")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: DATABASE_URL is not set: "
        "production mode (DJANGO_DEBUG unset or 0) needs it, as "
        "postgres://USER:PASSWORD@HOST:PORT/NAME. See the Production section of "
        "README.md."
    )


@pytest.mark.parametrize(
    "url",
    [
        "mysql://shop:hunter2-secret@db/shop",
        "postgres://shop:hunter2-secret@db:port/shop",
        "postgres://shop:hunter2-secret@db/",
        "postgres://shop:hunter2#secret@db/shop",
        "db:5432/hunter2-secret",
    ],
)
def test_a_database_url_that_is_not_postgres_is_refused_without_its_password(
    url: str,
) -> None:
    result = database_settings(**PRODUCTION, DATABASE_URL=url)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: DATABASE_URL is not a "
        "PostgreSQL URL with a database name: write "
        "postgres://USER:PASSWORD@HOST:PORT/NAME, the password percent-encoded "
        '(urllib.parse.quote(password, safe="")).'
    )
    assert "hunter2" not in result.stderr


def test_development_falls_back_to_a_local_database() -> None:
    result = database_settings(DJANGO_DEBUG="1", DATABASE_URL="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1:6] == [
        "postgres", "postgres", "localhost", "5432", "{{ cookiecutter.project_slug }}"
    ]  # fmt: skip


@pytest.mark.parametrize(("size", "pool"), [("4", (2, 4)), ("1", (1, 1))])
def test_the_pool_size_comes_from_the_environment(
    size: str, pool: tuple[int, int]
) -> None:
    result = database_settings(**PRODUCTION, DJANGO_DATABASE_POOL_SIZE=size)
    assert result.returncode == 0, result.stderr
    minimum, maximum = pool
    assert f"'min_size': {minimum}, 'max_size': {maximum}," in result.stdout


@pytest.mark.parametrize("size", ["0", "ten", "-1"])
def test_a_pool_size_that_is_not_a_count_is_refused_in_one_line(size: str) -> None:
    result = database_settings(**PRODUCTION, DJANGO_DATABASE_POOL_SIZE=size)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: "
        f"DJANGO_DATABASE_POOL_SIZE={size!r} is not a whole number of 1 or more: "
        "e.g. 10."
    )
{%- endif %}


@pytest.mark.parametrize(
    ("env", "required"),
    [
        (PRODUCTION, "True"),
        ({**PRODUCTION, "DJANGO_CHAT_LOGIN_REQUIRED": "0"}, "False"),
        ({"DJANGO_DEBUG": "1"}, "False"),
        ({"DJANGO_DEBUG": "1", "DJANGO_CHAT_LOGIN_REQUIRED": "1"}, "True"),
    ],
)
def test_chat_needs_a_login_in_production_unless_turned_off(
    env: dict[str, str], required: str
) -> None:
    code = "from django.conf import settings; print(settings.CHAT_LOGIN_REQUIRED)"
    result = with_settings(code, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == required


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_WEBSOCKET_MESSAGES_PER_SECOND", "ten"),
        ("DJANGO_WEBSOCKET_MESSAGE_BURST", "0"),
        ("DJANGO_CHAT_MESSAGE_MAX_BYTES", "-1"),
    ],
)
def test_a_limit_that_is_not_a_whole_number_is_refused_in_one_line(
    name: str, value: str
) -> None:
    result = settings_as_a_server_loads_them(**{**PRODUCTION, name: value})
    assert result.returncode != 0
    assert f"{name}={value!r} is not a whole number of" in result.stderr
