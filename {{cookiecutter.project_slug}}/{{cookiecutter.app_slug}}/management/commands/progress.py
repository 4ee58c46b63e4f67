"""manage.py progress --user USERNAME [--steps N]: a job that pushes its progress.

What a worker's task (Celery, RQ, Django's tasks, cron) does: the work runs here, in
a process of its own, and each finished step reaches every open socket of the user
through the channel layer as {"message": ..., "step": n, "steps": N}. Replace work()
with yours. On a production machine run it in production mode, like the server.
"""

import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...push import channel_layer, push_to_user
from .push import user_named


def work(step: int, seconds: float) -> None:
    """One step of the job: a stand-in that only takes time."""
    time.sleep(seconds)


class Command(BaseCommand):
    help = "Run a job of N steps, pushing each step's progress to a user's sockets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", metavar="USERNAME", required=True)
        parser.add_argument("--steps", type=int, default=5, help="default: 5")
        parser.add_argument(
            "--seconds", type=float, default=1.0, help="per step (default: 1)"
        )

    def handle(
        self, *args: Any, user: str, steps: int, seconds: float, **options: Any
    ) -> None:
        if steps < 1 or seconds < 0:
            raise CommandError("--steps must be 1 or more and --seconds 0 or more.")
        try:
            channel_layer()  # refused before any work if no socket can be reached
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        owner = user_named(user)
        missed = 0
        for step in range(1, steps + 1):
            work(step, seconds)
            progress = {"message": f"Step {step} of {steps} done.", "step": step}
            try:
                push_to_user(owner, {**progress, "steps": steps})
            except Exception as error:  # e.g. Redis is down: the job goes on
                missed += 1
                self.stderr.write(f"Step {step}: the push did not arrive ({error}).")
        lost = f", {missed} of them not" if missed else ""
        self.stdout.write(f"Done: {steps} steps, pushed to {user}'s sockets{lost}.")
