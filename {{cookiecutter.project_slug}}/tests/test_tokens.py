"""tokens.py, the token middleware, the endpoint and `manage.py wstoken`, no server."""

import datetime as dt
import io
import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone

{#- Sorted as ruff sorts them, whichever slug comes first. #}
{%- set security_import -%}
from {{ cookiecutter.project_slug }}.security import TokenAuthMiddleware, offered_token
{%- endset %}
{%- set tokens_import -%}
from {{ cookiecutter.app_slug }}.tokens import (
    BROWSER_LIFETIME,
    TokenRefused,
    make_token,
    user_for_token,
)
{%- endset %}
{% if cookiecutter.app_slug ~ ".tokens" < cookiecutter.project_slug ~ ".security" %}
{{ tokens_import }}
{{ security_import }}
{%- else %}
{{ security_import }}
{{ tokens_import }}
{%- endif %}

# What RFC 6455 allows in a Sec-WebSocket-Protocol value (an RFC 7230 token).
PROTOCOL_VALUE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
FRONTEND = "http://app.example.test:5173"
REHASHED = "revoked: the password hash changed (a new password, or a rehash at log-in)"

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", password="a-long-test-password-42")


def refusal(token: str, now: dt.datetime | None = None) -> str:
    with pytest.raises(TokenRefused) as refused:
        user_for_token(token, now)
    return str(refused.value)


def test_a_token_names_its_user_until_it_expires(alice: User) -> None:
    issued = timezone.now()
    token = make_token(alice, dt.timedelta(minutes=5), now=issued)
    assert token.expires == issued.replace(microsecond=0) + dt.timedelta(minutes=5)
    assert user_for_token(token.value, now=issued + dt.timedelta(minutes=4)) == alice
    assert refusal(token.value, now=issued + dt.timedelta(minutes=5)) == "expired"


def test_a_token_fits_in_a_header_and_a_subprotocol(alice: User) -> None:
    assert PROTOCOL_VALUE.fullmatch("bearer." + make_token(alice).value)


@pytest.mark.parametrize("position", [0, 20, -1])
def test_a_changed_character_breaks_the_signature(alice: User, position: int) -> None:
    token = make_token(alice).value
    changed = "A" if token[position] != "A" else "B"
    tampered = token[:position] + changed + token[position:][1:]
    assert (
        refusal(tampered)
        == "bad signature: tampered, or signed with another SECRET_KEY"
    )


def test_another_secret_key_refuses_the_token(alice: User) -> None:
    token = make_token(alice).value
    with override_settings(SECRET_KEY="another-" + "k" * 50):
        assert refusal(token).startswith("bad signature")


def test_a_key_rotation_with_fallbacks_keeps_tokens(alice: User) -> None:
    old_key = "old-" + "k" * 50
    with override_settings(SECRET_KEY=old_key):
        token = make_token(alice).value
    with override_settings(
        SECRET_KEY="new-" + "k" * 50, SECRET_KEY_FALLBACKS=[old_key]
    ):
        assert user_for_token(token) == alice


@pytest.mark.parametrize("junk", ["", "bearer", "a.b", "no-separator", "é.é"])
def test_junk_is_refused_as_a_bad_signature(junk: str) -> None:
    assert refusal(junk).startswith("bad signature")


def test_a_password_change_revokes_earlier_tokens(alice: User) -> None:
    before = make_token(alice).value
    alice.set_password("another-long-password-43")
    alice.save()
    assert refusal(before) == REHASHED
    assert user_for_token(make_token(alice).value) == alice


@override_settings(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
)
def test_a_rehash_at_log_in_revokes_and_says_the_hash_changed(alice: User) -> None:
    # An old, weaker hash: Django re-hashes it with the first hasher at log-in.
    User.objects.filter(pk=alice.pk).update(
        password=make_password("a-long-test-password-42", hasher="md5")
    )
    alice.refresh_from_db()
    before = make_token(alice).value
    assert authenticate(username="alice", password="a-long-test-password-42")
    alice.refresh_from_db()
    assert alice.password.startswith("pbkdf2_sha256$")  # the rehash happened
    assert refusal(before) == REHASHED


def test_an_inactive_users_token_is_refused(alice: User) -> None:
    token = make_token(alice).value
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert refusal(token) == "the user is inactive"


def test_a_deleted_users_token_is_refused(alice: User) -> None:
    token = make_token(alice).value
    alice.delete()
    assert refusal(token) == "its user no longer exists"


def test_the_endpoint_gives_a_logged_in_user_a_short_lived_token(
    alice: User,
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/ws-token/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    answer = response.json()
    assert set(answer) == {"token", "expires"}
    assert user_for_token(answer["token"]) == alice
    expires = dt.datetime.fromisoformat(answer["expires"])
    assert expires - timezone.now() <= BROWSER_LIFETIME


def test_the_endpoint_refuses_anonymous_users_and_gets() -> None:
    response = Client().post("/ws-token/")
    assert response.status_code == 403
    assert response.json() == {"error": "Log in first: tokens name a user."}
    assert Client().get("/ws-token/").status_code == 405


@override_settings(CORS_ALLOWED_ORIGINS=[FRONTEND])
@pytest.mark.parametrize(
    ("origin", "path", "shared"),
    [
        (FRONTEND, "/ws-token/", True),
        ("http://evil.example.test", "/ws-token/", False),
        (FRONTEND, "/notifications/test/", False),
    ],
)
def test_cors_shares_only_the_token_endpoint_with_listed_origins(
    alice: User, origin: str, path: str, shared: bool
) -> None:
    client = Client()
    client.force_login(alice)
    response = client.post(path, headers={"Origin": origin})
    if shared:
        assert response["Access-Control-Allow-Origin"] == origin
        assert response["Access-Control-Allow-Credentials"] == "true"
    else:
        assert "Access-Control-Allow-Origin" not in response


def test_wstoken_prints_the_token_alone_on_stdout(alice: User) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("wstoken", "alice", "--minutes", "30", stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert user_for_token(token) == alice
    expired = timezone.now() + dt.timedelta(minutes=31)
    assert refusal(token, now=expired) == "expired"
    expiry = r"Expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.\n"
    assert re.fullmatch(expiry, err.getvalue())


@pytest.mark.parametrize("minutes", ["0", "-5", "1.5", str(366 * 24 * 60 + 1)])
def test_wstoken_refuses_lifetimes_outside_a_minute_to_a_year(
    alice: User, minutes: str
) -> None:
    with pytest.raises(CommandError, match="is not a whole number from 1 to"):
        call_command("wstoken", "alice", "--minutes", minutes)


def behind_the_middleware(token_user: User, cookie_user: User) -> dict[str, Any]:
    """The scope a consumer gets for a handshake with a token of token_user and the
    session cookie of cookie_user."""
    client = Client()
    client.force_login(cookie_user)
    seen: dict[str, Any] = {"cookie_session": SessionStore(client.session.session_key)}

    async def consumer(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    token = make_token(token_user).value
    scope = {
        "type": "websocket",
        "path": "/ws/notifications/",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
        "subprotocols": [],
        "session": seen["cookie_session"],
        "user": cookie_user,
    }
    async_to_sync(TokenAuthMiddleware(consumer))(scope, None, None)
    return seen


# Channels closes stale connections around the lookup, the test's transaction too.
@pytest.mark.django_db(transaction=True)
def test_a_token_connection_gets_a_session_of_its_own(alice: User) -> None:
    """Token bob, cookie alice: a consumer's login() or logout() must not touch
    alice's session."""
    bob = User.objects.create_user("bob", password="another-long-password-43")
    seen = behind_the_middleware(bob, alice)
    assert seen["user"] == bob
    assert seen["session"].session_key is None
    assert not any(name == b"authorization" for name, _ in seen["headers"])


@pytest.mark.django_db(transaction=True)
def test_a_token_of_the_sessions_own_user_keeps_the_session(alice: User) -> None:
    """Token alice, cookie alice (a page of this site): the socket is that
    session's, so logging out of it ends the socket (access.py, 4001)."""
    seen = behind_the_middleware(alice, alice)
    assert seen["user"] == alice
    assert seen["session"] is seen["cookie_session"]


@pytest.mark.django_db(transaction=True)
def test_a_browser_token_reaches_the_consumer_in_no_header(alice: User) -> None:
    """The server keeps the offered subprotocols in a header too: a consumer that
    logs its headers must not log the token."""
    token = make_token(alice).value
    seen: dict[str, Any] = {}

    async def consumer(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    offered = f"bearer, bearer.{token}, chat".encode()
    scope = {
        "type": "websocket",
        "path": "/ws/notifications/",
        "headers": [(b"sec-websocket-protocol", offered), (b"host", b"x")],
        "subprotocols": ["bearer", f"bearer.{token}", "chat"],
    }
    async_to_sync(TokenAuthMiddleware(consumer))(scope, None, None)
    assert seen["user"] == alice
    assert seen["subprotocols"] == ["bearer", "chat"]
    assert sorted(seen["headers"]) == [
        (b"host", b"x"),
        (b"sec-websocket-protocol", b"bearer, chat"),
    ]


@pytest.mark.parametrize(
    ("header", "protocols"),
    [
        (b"Bearer t0k", []),
        (b"bearer\tt0k", []),
        (b"BEARER   t0k ", []),
        (None, ["bearer", "bearer.t0k"]),
        (None, ["Bearer.t0k"]),
    ],
)
def test_a_token_is_found_however_it_is_spelled(
    header: bytes | None, protocols: list[str]
) -> None:
    headers = [] if header is None else [(b"authorization", header)]
    token, left = offered_token({"headers": headers, "subprotocols": protocols})
    assert token == "t0k"
    assert "t0k" not in "".join(left)


def test_other_authorization_schemes_are_not_tokens() -> None:
    headers = [(b"authorization", b"Basic YWxpY2U6cHc=")]
    assert offered_token({"headers": headers, "subprotocols": []}) == (None, [])


@pytest.mark.parametrize(
    ("headers", "protocols"),
    [
        ([(b"authorization", b"Bearer ")], []),
        ([(b"authorization", b"bearer")], []),
        ([], ["bearer"]),
    ],
)
def test_a_client_that_means_a_token_but_sends_none_is_refused(
    headers: list[tuple[bytes, bytes]], protocols: list[str]
) -> None:
    sent: list[dict[str, Any]] = []
    arriving: list[dict[str, Any]] = [
        {"type": "websocket.connect"},
        {"type": "websocket.disconnect", "code": 1006},
    ]

    async def receive() -> dict[str, Any]:
        return arriving.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def consumer(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("reached the consumer")

    scope = {
        "type": "websocket",
        "path": "/ws/notifications/",
        "headers": headers,
        "subprotocols": protocols,
    }
    async_to_sync(TokenAuthMiddleware(consumer))(scope, receive, send)
    assert sent[0]["type"] == "websocket.close"  # before accept: HTTP 403


def test_wstoken_refuses_unknown_and_inactive_users(alice: User) -> None:
    with pytest.raises(CommandError, match="No user named 'bob'"):
        call_command("wstoken", "bob")
    User.objects.filter(pk=alice.pk).update(is_active=False)
    with pytest.raises(CommandError, match="'alice' is inactive"):
        call_command("wstoken", "alice")
