"""manage.py prunemessages --older-than DAYS: delete stored chat messages.

Chat messages are kept until this runs (models.py); run it daily from cron.
"""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ...models import ChatMessage


class Command(BaseCommand):
    help = "Delete stored chat messages older than DAYS days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            metavar="DAYS",
            type=int,
            required=True,
            help="delete what was sent more than DAYS days ago (0: everything)",
        )

    def handle(self, *args: Any, older_than: int, **options: Any) -> None:
        if older_than < 0:
            raise CommandError(
                f"--older-than {older_than}: give a number of days, 0 or more."
            )
        cutoff = timezone.now() - dt.timedelta(days=older_than)
        deleted, _ = ChatMessage.objects.filter(sent__lt=cutoff).delete()
        self.stdout.write(
            f"Deleted {deleted} chat message{'' if deleted == 1 else 's'} "
            f"sent before {cutoff:%Y-%m-%d %H:%M} UTC ({older_than} days ago)."
        )
