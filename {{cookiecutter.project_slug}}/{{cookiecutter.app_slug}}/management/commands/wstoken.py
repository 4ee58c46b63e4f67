"""manage.py wstoken USERNAME [--minutes N]: a WebSocket token for a script or an app.

It prints the token alone on stdout, so TOKEN=$(python manage.py wstoken alice)
works; the client sends it as "Authorization: Bearer <token>". Run it with the
server's settings (the same DJANGO_SECRET_KEY and database), or the server refuses
the token. A password change or deactivation revokes it (tokens.py).
"""

import argparse
import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...tokens import COMMAND_LIFETIME, make_token

# A year: a longer-lived token is a password that nobody can change.
MAX_MINUTES = 366 * 24 * 60


def minutes(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_MINUTES:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a whole number from 1 to {MAX_MINUTES} (a year)"
        )
    return int(value)


class Command(BaseCommand):
    help = "Print a signed, expiring WebSocket token for a user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        default = int(COMMAND_LIFETIME.total_seconds() // 60)
        parser.add_argument(
            "--minutes",
            type=minutes,
            default=default,
            help=f"how long the token opens sockets (default {default})",
        )

    def handle(self, *args: Any, username: str, minutes: int, **options: Any) -> None:
        model = get_user_model()
        try:
            user = model._default_manager.get_by_natural_key(username)
        except model.DoesNotExist:
            raise CommandError(
                f"No user named {username!r}: check the spelling, or create one with "
                "manage.py createsuperuser."
            ) from None
        if not user.is_active:
            raise CommandError(
                f"{username!r} is inactive, so the server would refuse the token: "
                "activate the user first (admin, or user.is_active = True)."
            )
        token = make_token(user, dt.timedelta(minutes=minutes))
        self.stdout.write(token.value)
        # On stderr, so $(...) captures the token alone; plain, not error red.
        expires = f"{token.expires:%Y-%m-%d %H:%M:%S} UTC"
        self.stderr.write(f"Expires {expires}.", style_func=str)
