"""Signed, expiring WebSocket tokens for clients without a session.

A token names a user and an expiry, signed with SECRET_KEY (django.core.signing):
nothing is stored, so every server process can check it. Like Django's
password-reset tokens it is bound to the user's state: it carries a fingerprint of
the password hash, so a new hash (a password change, or Django's rehash at log-in
under a stronger hasher) revokes every token issued before it, and a deactivated or
deleted user's tokens name no one.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core import signing
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

# Namespaces these signatures; changing it revokes every token already issued.
SALT = "{{ cookiecutter.project_slug }}.tokens"
# What the token endpoint gives a browser: enough to open one socket now; a page
# asks for a new one each time it (re)connects.
BROWSER_LIFETIME = dt.timedelta(minutes=5)
# `manage.py wstoken`'s default, for scripts and services.
COMMAND_LIFETIME = dt.timedelta(hours=1)


class TokenRefused(Exception):
    """Why a token names no one. The message is one log line and never holds it."""


@dataclass(frozen=True)
class Token:
    value: str
    expires: dt.datetime


def _signer() -> signing.Signer:
    # "." rather than ":" between payload and signature: every character is then
    # allowed in a Sec-WebSocket-Protocol value, the browsers' way to send it.
    return signing.Signer(salt=SALT, sep=".")


def _fingerprint(user: AbstractBaseUser, secret: str | bytes | None = None) -> str:
    """Changes when the password does; reveals nothing of the hash."""
    digest = salted_hmac(SALT, user.password, secret=secret, algorithm="sha256")
    return digest.hexdigest()[:20]


def _password_unchanged(claims: dict[str, str], user: AbstractBaseUser) -> bool:
    # Under SECRET_KEY_FALLBACKS too, as the signature: a key rotation that keeps
    # sessions keeps tokens.
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any(
        constant_time_compare(claims["pw"], _fingerprint(user, key)) for key in keys
    )


def make_token(
    user: AbstractBaseUser,
    lifetime: dt.timedelta = COMMAND_LIFETIME,
    now: dt.datetime | None = None,
) -> Token:
    expires = int(((now or timezone.now()) + lifetime).timestamp())
    claims = {"user": str(user.pk), "exp": expires, "pw": _fingerprint(user)}
    return Token(
        value=_signer().sign_object(claims),
        expires=dt.datetime.fromtimestamp(expires, tz=dt.timezone.utc),
    )


def user_for_token(token: str, now: dt.datetime | None = None) -> AbstractBaseUser:
    """The active user a token names, or TokenRefused saying why not."""
    try:
        claims = _signer().unsign_object(token)
    except signing.BadSignature:
        raise TokenRefused(
            "bad signature: tampered, or signed with another SECRET_KEY"
        ) from None
    if claims["exp"] <= (now or timezone.now()).timestamp():
        raise TokenRefused("expired")
    user_model = get_user_model()
    user = user_model._default_manager.filter(pk=claims["user"]).first()
    if user is None:
        raise TokenRefused("its user no longer exists")
    if not _password_unchanged(claims, user):
        raise TokenRefused(
            "revoked: the password hash changed (a new password, or a rehash at log-in)"
        )
    if not user.is_active:
        raise TokenRefused("the user is inactive")
    return user
