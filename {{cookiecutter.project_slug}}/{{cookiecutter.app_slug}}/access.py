"""A socket ends with its user's access: logging out, deactivation, a new password
or deletion closes the user's open sockets, from whichever process it happens in.

Signals (connected in apps.py) send to the groups that GroupMember.join_user()
puts each logged-in socket in: one per session (a logout ends that session's
sockets) and one per user (the rest end all of them). With Redis this reaches every
server; with the in-memory layer only the sockets of the process where it happens.
"""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, pre_save

# Close codes (4000-4999 are the application's own): a client reconnects after
# ACCESS_CHANGED (its session may still hold: a password changed in this browser),
# and stops after LOGGED_OUT.
LOGGED_OUT = 4001
ACCESS_CHANGED = 4003
END_TYPE = "access.ended"


def session_group(session_key: str) -> str:
    return f"session_{session_key}"


def user_sockets_group(user_pk: Any) -> str:
    return f"sockets_{user_pk}"


def end_sockets(group: str, code: int) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, {"type": END_TYPE, "code": code})


def logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and request.session.session_key:
        end_sockets(session_group(request.session.session_key), LOGGED_OUT)


def user_changing(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk is None:
        return
    before = (
        sender._default_manager.filter(pk=instance.pk)
        .values("password", "is_active")
        .first()
    )
    if before is None:
        return
    if before["password"] != instance.password or (
        before["is_active"] and not getattr(instance, "is_active", True)
    ):
        # Once saved: a socket that reconnects at once must see the change.
        group = user_sockets_group(instance.pk)
        transaction.on_commit(lambda: end_sockets(group, ACCESS_CHANGED))


def user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    group = user_sockets_group(instance.pk)
    transaction.on_commit(lambda: end_sockets(group, ACCESS_CHANGED))


def connect_signals() -> None:
    user = get_user_model()
    user_logged_out.connect(logged_out, dispatch_uid="end sockets at logout")
    pre_save.connect(user_changing, sender=user, dispatch_uid="end sockets at change")
    post_delete.connect(user_deleted, sender=user, dispatch_uid="end sockets")
