"""Django settings for {{ cookiecutter.project_slug }}.

Production is the default: it needs DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS from
the environment. Development is DJANGO_DEBUG=1, which the tests set, and manage.py
too where no DJANGO_SECRET_KEY is set.
"""

import os
from pathlib import Path
{%- if cookiecutter.database == "postgres" %}
from typing import Any
{%- endif %}
from urllib.parse import urlsplit

{% if cookiecutter.database == "postgres" -%}
import dj_database_url
{% endif -%}
from django.core.exceptions import ImproperlyConfigured
{%- if cookiecutter.channel_layer == "redis" %}
{% include "redis_imports.py.jinja" %}{%- endif %}

BASE_DIR = Path(__file__).resolve().parent.parent

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def flag(name: str, default: bool = False) -> bool:
    """A yes/no variable; a value that is neither is refused, never guessed."""
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in TRUE | FALSE:
        return value.lower() in TRUE
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a yes/no value: use one of 1, true, yes, on "
        "or 0, false, no, off."
    )


def seconds(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    if not value.isdigit():
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a whole number of seconds: e.g. 3600 (an hour) "
            "or 31536000 (a year)."
        )
    return int(value)


def whole_number(name: str, default: int, minimum: int) -> int:
    value = os.environ.get(name, str(default))
    if not value.isdigit() or int(value) < minimum:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a whole number of {minimum} or more: e.g. "
            f"{default}."
        )
    return int(value)


def comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def origins(name: str) -> list[str]:
    """Full origins, exactly as browsers send them in the Origin header."""
    values = [value.lower() for value in comma_list(os.environ.get(name, ""))]
    for value in values:
        parts = urlsplit(value)
        try:
            port = parts.port
        except ValueError:  # not a number, or above 65535
            port = -1
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"  # IPv6
        as_sent = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
        if (
            parts.scheme not in {"http", "https"}
            or not host.isascii()
            or not host.strip(".[]")
            or host.startswith(".")
            or "*" in host
            or port in {-1, {"http": 80, "https": 443}.get(parts.scheme)}
            or value != as_sent
        ):
            raise ImproperlyConfigured(
                f"{name}: {value!r} is not an origin as browsers send it: write "
                "scheme://host[:port] with no path, trailing slash, user, wildcard "
                "or default port (punycode for non-ASCII names), e.g. "
                "https://app.example.com,http://localhost:5173."
            )
    return values


{% if cookiecutter.database == "postgres" -%}
{% include "postgres_database.py.jinja" %}

{% endif -%}
def required(name: str) -> str:
    if not os.environ.get(name):
        raise ImproperlyConfigured(
            f"{name} is not set: production mode (DJANGO_DEBUG unset or 0) needs "
            "it. See the Production section of README.md."
        )
    return os.environ[name]


# Fails closed: a forgotten DJANGO_DEBUG means production, never debug pages.
DEBUG = flag("DJANGO_DEBUG")

if DEBUG:
    # Made at render time for this project only; production mode never uses it.
    SECRET_KEY = os.environ.get(
        "DJANGO_SECRET_KEY",
        "django-insecure-{{ random_ascii_string(50) }}",
    )
    ALLOWED_HOSTS = comma_list(
        os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
    )
else:
    SECRET_KEY = required("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = comma_list(required("DJANGO_ALLOWED_HOSTS"))
    # TLS ends at the reverse proxy (deploy/nginx.conf), which redirects HTTP to
    # HTTPS and overwrites X-Forwarded-Proto; so Django trusts that header, and
    # does not redirect itself (security.W008 is silenced for that reason).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SILENCED_SYSTEM_CHECKS = ["security.W008"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # HSTS starts at one hour, as Django's docs advise: a mistake then locks
    # browsers out for an hour, not a year. Raise it (and add subdomains, then
    # preload) once HTTPS works everywhere: README.md, Production, explains.
    SECURE_HSTS_SECONDS = seconds("DJANGO_HSTS_SECONDS", 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = flag("DJANGO_HSTS_INCLUDE_SUBDOMAINS")
    SECURE_HSTS_PRELOAD = flag("DJANGO_HSTS_PRELOAD")

# Origins (https://example.com) allowed to POST forms from another host or port.
CSRF_TRUSTED_ORIGINS = comma_list(os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", ""))

# Separate frontends (https://app.example.com, a dev server on localhost:5173): their
# pages may open WebSockets here, besides ALLOWED_HOSTS' own, and fetch a token from
# ws-token/ with the user's session. README.md, Who is connected, explains.
WEBSOCKET_ALLOWED_ORIGINS = origins("DJANGO_WEBSOCKET_ALLOWED_ORIGINS")
if not DEBUG and "*" in ALLOWED_HOSTS and not WEBSOCKET_ALLOWED_ORIGINS:
    # Production takes each host's https:// origin (security.py); "*" names none,
    # and taking it as "any origin" would let every site's pages in.
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS holds '*', which names no WebSocket origin: list the "
        "hosts, or the origins whose pages may open WebSockets in "
        "DJANGO_WEBSOCKET_ALLOWED_ORIGINS (e.g. https://example.com)."
    )
# django-cors-headers lets those origins, and no others, read the token endpoint's
# answer with the user's cookies; CORS covers that one URL (urls.py) and no other.
CORS_ALLOWED_ORIGINS = WEBSOCKET_ALLOWED_ORIGINS
CORS_URLS_REGEX = r"^/ws-token/$"
CORS_ALLOW_CREDENTIALS = True

INSTALLED_APPS = [
    # Daphne first: its runserver command must replace staticfiles' WSGI one.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "corsheaders",
    "{{ cookiecutter.app_slug }}",
    # Our tooling (wiring checks, startconsumer): delete this line and the folder
    # to drop it; the project works the same without.
    "channels_devtools",
]

MIDDLEWARE = [
    # First: answers /healthz and /readyz (health.py) before host checks or sessions.
    "{{ cookiecutter.project_slug }}.health.health_check",
    # Before anything that may answer: CORS headers go on every answer it covers.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the ASGI server itself, so the documented production command
    # serves a working page without a proxy (deploy/nginx.conf serves them when
    # present).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "{{ cookiecutter.project_slug }}.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Served by an ASGI server ({{ cookiecutter.asgi_server }}), not WSGI: asgi.py routes HTTP and WebSockets.
# WSGI_APPLICATION = "{{ cookiecutter.project_slug }}.wsgi.application"
ASGI_APPLICATION = "{{ cookiecutter.project_slug }}.asgi.application"

{% if cookiecutter.channel_layer == "redis" -%}
{% include "redis_channel_layers.py.jinja" %}
{%- else -%}
CHANNEL_LAYERS = {
    # One process only: group messages never leave the process that sent them.
    # For several processes or machines, generate with channel_layer=redis.
    "default": {
        "BACKEND": "channels.layers.InMemoryChannelLayer",
        "CONFIG": {
            # Messages a channel may hold unread before sends to it fail: what the
            # server holds for a client that stops reading (a consumer waits for its
            # socket under Uvicorn), so at most 200 x the 64 KiB limit, 12.5 MiB.
            "capacity": 200,
            # Seconds an unread message waits before it is dropped.
            "expiry": 60,
            # Seconds a membership lasts unless renewed (WEBSOCKET_HEARTBEAT).
            "group_expiry": 86400,
        },
    },
}
{%- endif %}

{% if cookiecutter.database == "postgres" -%}
# DATABASE_URL: postgres://USER:PASSWORD@HOST:PORT/NAME. Development falls back to
# a local server (README.md, Run it, says how to start one).
LOCAL_DATABASE_URL = "postgres://postgres:postgres@localhost:5432/{{ cookiecutter.project_slug }}"
DATABASES = {
    "default": postgres_database("DATABASE_URL", LOCAL_DATABASE_URL if DEBUG else None)
}
{%- else -%}
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # DJANGO_SQLITE_PATH: another file, e.g. the tests' throwaway database.
        "NAME": os.environ.get("DJANGO_SQLITE_PATH", BASE_DIR / "db.sqlite3"),
        "OPTIONS": {
            # Several threads and processes write here (server threads, manage.py,
            # a worker). IMMEDIATE takes the write lock when a transaction begins:
            # SQLite cannot wait for it halfway through a read-then-write (Django's
            # default DEFERRED), and fails at once with "database is locked".
            "transaction_mode": "IMMEDIATE",
            # Seconds a writer waits for the lock before that error.
            "timeout": 20,
            # Readers no longer wait for a writer, nor it for them. WAL needs every
            # process on one machine: one server per file (compose.yaml runs one).
            # synchronous=NORMAL: a commit no longer waits for the disk (fsync).
            # The file stays consistent; a power cut, not a server crash, may lose
            # the last commits. Chat stores every message, and the fsync was most
            # of what a store cost.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}
{%- endif %}

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Seconds between two renewals of each socket's group memberships (the app's
# groups.py): far below group_expiry (CHANNEL_LAYERS), so that none expires while its
# socket is open, and short enough that after a Redis restart that lost them every
# socket is back in its groups soon.
WEBSOCKET_HEARTBEAT = seconds("DJANGO_WEBSOCKET_HEARTBEAT_SECONDS", 30)
if WEBSOCKET_HEARTBEAT < 1:
    raise ImproperlyConfigured(
        "DJANGO_WEBSOCKET_HEARTBEAT_SECONDS must be 1 or more: e.g. 30."
    )

# What one client may send on one socket, to any consumer (limits.py): messages a
# second, saved up to a burst. Each message over the limit gets an error reply;
# so many of them (one forgiven a second), a close with 1008. 0 a second: no limit.
WEBSOCKET_MESSAGES_PER_SECOND = whole_number(
    "DJANGO_WEBSOCKET_MESSAGES_PER_SECOND", 10, 0
)
WEBSOCKET_MESSAGE_BURST = whole_number("DJANGO_WEBSOCKET_MESSAGE_BURST", 20, 1)
WEBSOCKET_DROPS_BEFORE_CLOSE = whole_number(
    "DJANGO_WEBSOCKET_DROPS_BEFORE_CLOSE", 20, 1
)

# Bytes (UTF-8) of one chat message's text: the room sends it to every member, so
# this is far below the frame limit below. A longer one gets an error reply.
CHAT_MESSAGE_MAX_BYTES = whole_number("DJANGO_CHAT_MESSAGE_MAX_BYTES", 4096, 1)
# Chat for logged-in users only: on in production unless turned off (0), off in
# development. Anonymous handshakes to ws/chat/ are then refused (HTTP 403).
CHAT_LOGIN_REQUIRED = flag("DJANGO_CHAT_LOGIN_REQUIRED", default=not DEBUG)
# Stored messages a chat client gets when it connects without ?since=<id> (the app's
# history.py); 0: none. Stored messages are kept until manage.py prunemessages.
CHAT_HISTORY = whole_number("DJANGO_CHAT_HISTORY", 50, 0)
# The most a client that reconnects with ?since=<id> is sent of what it missed (the
# latest ones): a since=0 costs the database and the socket this much at most.
CHAT_REPLAY_MAX = whole_number("DJANGO_CHAT_REPLAY_MAX", 1000, 0)

# runserver (Daphne's) reads these; the production {{ cookiecutter.asgi_server }} command in README.md passes
# the same numbers. Lower than runserver's 1 MiB default: a larger message closes
# the connection before any consumer sees it.
DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE = 64 * 1024
DAPHNE_WEBSOCKET_MAX_FRAME_SIZE = 64 * 1024

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # collectstatic writes demo.3f2a9c1b7e4d.js next to demo.js: a deploy changes
    # the name, so no cache serves stale files, and only hashed names get WhiteNoise's
    # (and nginx's) long cache headers. Production needs collectstatic to have run.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# In development WhiteNoise also finds app static files that collectstatic has not
# copied yet; production serves only the collected, hashed files.
WHITENOISE_USE_FINDERS = DEBUG

# One line per record on stderr, where the server and container logs look; Django's
# default keeps errors to mail_admins when DEBUG is off. Tracebacks stay whole.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "line"},
    },
    # The servers' and the consumers' loggers ({{ cookiecutter.asgi_server }}.*, your app's) end here.
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "django": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
{%- if cookiecutter.database == "postgres" %}
        # The pool logs every connection it hands out at INFO: warnings only.
        "psycopg.pool": {"level": "WARNING"},
{%- endif %}
{%- if cookiecutter.asgi_server == "uvicorn" %}
        # Uvicorn gives its loggers handlers and a format of its own before Django
        # starts; this takes over uvicorn.error, where it logs every WebSocket's
        # "[accepted]", "connection open" and "connection closed" at INFO: WARNING
        # here drops those (and the startup lines). Not the parent "uvicorn":
        # configuring it would reset uvicorn.access and undo --no-access-log.
        "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
{%- endif %}
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
{%- if cookiecutter.demo_page == "yes" %}

# After logging in at accounts/login/ (the default LOGIN_URL): the demo page.
LOGIN_REDIRECT_URL = "/"
{%- endif %}
