"""A socket ends with its user's access: logging out, deactivation, a new password
or deletion closes the user's open sockets, from whichever process it happens in.

Signals (connected in apps.py) send to the groups that GroupMember.join_user()
puts each logged-in socket in: one per session (a logout ends that session's
sockets) and one per user (the rest end all of them). With Redis this reaches every
server; with the in-memory layer only the sockets of the process where it happens.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

# Close codes (4000-4999 are the application's own): a client reconnects after
# ACCESS_CHANGED (its session may still hold: a password changed in this browser),
# and stops after LOGGED_OUT.
LOGGED_OUT = 4001
ACCESS_CHANGED = 4003
END_TYPE = "access.ended"

logger = logging.getLogger(__name__)


def session_group(session_key: str) -> str:
    return f"session_{session_key}"


def user_sockets_group(user_pk: Any) -> str:
    return f"sockets_{user_pk}"


def end_sockets(group: str, code: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": END_TYPE, "code": code})
    except Exception:
        # Never in the way of a logout or a save: with the layer down, the sockets
        # stay open until they close, and the change holds at their next handshake.
        logger.exception("Could not close the sockets of %s", group)


def logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and request.session.session_key:
        end_sockets(session_group(request.session.session_key), LOGGED_OUT)


def user_saving(
    sender: Any, instance: Any, raw: bool, using: str, **kwargs: Any
) -> None:
    """Before a user is saved: note whether its password or is_active changes."""
    is_user = isinstance(instance, get_user_model())
    if raw or instance.pk is None or not is_user:
        return  # loaddata, a new user, or not a user at all
    instance._access_changes = False
    fields = {field.name for field in sender._meta.concrete_fields}
    watched = {"password", "is_active"} & fields
    if kwargs.get("update_fields") is not None:
        watched &= set(kwargs["update_fields"])  # e.g. last_login alone, at login
    if not watched:
        return
    rows = sender._base_manager.using(using).filter(pk=instance.pk)
    old = rows.values(*watched).first()
    if old is None:
        return
    new_password = "password" in old and old["password"] != instance.password
    deactivated = old.get("is_active", False) and not instance.is_active
    instance._access_changes = new_password or deactivated


def user_saved(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    if getattr(instance, "_access_changes", False):
        instance._access_changes = False
        group = user_sockets_group(instance.pk)
        # Once committed: a socket that reconnects at once must see the change.
        transaction.on_commit(lambda: end_sockets(group, ACCESS_CHANGED), using=using)


def user_deleted(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    if isinstance(instance, get_user_model()):
        group = user_sockets_group(instance.pk)
        transaction.on_commit(lambda: end_sockets(group, ACCESS_CHANGED), using=using)


def connect_signals() -> None:
    # No sender: proxy and multi-table subclasses of the user model count too.
    user_logged_out.connect(logged_out, dispatch_uid="end sockets at logout")
    pre_save.connect(user_saving, dispatch_uid="note access changes")
    post_save.connect(user_saved, dispatch_uid="end sockets at access changes")
    post_delete.connect(user_deleted, dispatch_uid="end sockets at deletion")
