"""manage.py push (--user USERNAME | --group NAME) MESSAGE: push from another process.

For cron jobs, workers and deploy scripts: it sends {"message": MESSAGE} through the
channel layer to every socket of a user (NotificationsConsumer) or of a group (a
chat room's is chat_<room>). Only a layer that spans processes (Redis) reaches them.
"""

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...push import channel_layer, push_to_group, user_group

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


class Command(BaseCommand):
    help = "Push a message to a user's open sockets or to a group, across processes."

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--user", metavar="USERNAME", help="a user's sockets")
        target.add_argument("--group", metavar="NAME", help="a group, e.g. chat_lobby")
        parser.add_argument("message", help="the text; clients get {message: ...}")

    def handle(
        self,
        *args: Any,
        user: str | None,
        group: str | None,
        message: str,
        **options: Any,
    ) -> None:
        try:
            # Refuses the in-memory layer here: this process serves no one.
            layer = channel_layer()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        if user is not None:
            group = user_group(user_named(user))
        assert group is not None  # argparse requires --user or --group
        try:
            layer.require_valid_group_name(group)
        except TypeError as error:
            raise CommandError(f"--group {group!r}: {error}") from None
        try:
            push_to_group(group, {"message": message})
        except Exception as error:  # e.g. Redis is down: one line, not a traceback
            raise CommandError(
                f"The push did not reach the channel layer ({error}): is Redis "
                "running at the address in CHANNEL_LAYERS (REDIS_URL)?"
            ) from None
        whose = f"{user}'s sockets" if user is not None else "the sockets"
        # Channels does not say how many sockets a group holds: maybe none now.
        self.stdout.write(f"Pushed to {whose} in group {group}.")


def user_named(username: str) -> "AbstractBaseUser":
    """The user a command line names; push.py takes users, never names."""
    model = get_user_model()
    try:
        return model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist:
        raise CommandError(
            f"No user named {username!r}: check the spelling, or create one with "
            "manage.py createsuperuser."
        ) from None
