"""Push to connected users from anywhere: views, signals, tasks, commands, the shell.

Sockets join groups (NotificationsConsumer: one group per user); these functions
send to a group through the channel layer. Use push_to_user/push_to_group in sync
code and apush_to_user/apush_to_group in consumers and async views.
"""

import json
from typing import TYPE_CHECKING, Any, TypeAlias

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, get_channel_layer
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    User: TypeAlias = AbstractBaseUser | AnonymousUser | int | str

# The event every push sends: a consumer in a pushed-to group handles it in its
# push_message method and sends event["text"], the payload as JSON, to its socket.
PUSH_TYPE = "push.message"


def user_group(user: "User") -> str:
    """The group every socket of this user (a user or a primary key) joins."""
    pk = user if isinstance(user, int | str) else user.pk
    if pk is None:
        raise ValueError("An anonymous user has no group: push to a logged-in user.")
    return f"user_{pk}"


def channel_layer() -> BaseChannelLayer:
    layer = get_channel_layer()
    if layer is None:
        raise ImproperlyConfigured(
            "CHANNEL_LAYERS has no 'default' layer: pushes need one (settings.py)."
        )
    return layer


def push_event(payload: Any) -> dict[str, str]:
    """Encode here, so a bad payload fails at the call, not later in a consumer."""
    try:
        text = json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as error:
        # json says "Object of type datetime is not JSON serializable".
        raise TypeError(f"A push payload must be JSON-serialisable: {error}") from None
    return {"type": PUSH_TYPE, "text": text}


async def apush_to_group(group: str, payload: Any) -> None:
    """Send payload, as one JSON message, to every socket in the group."""
    event = push_event(payload)
    layer = channel_layer()
    # Channels checks names inside an assert, which python -O skips; check always.
    layer.require_valid_group_name(group)
    await layer.group_send(group, event)


async def apush_to_user(user: "User", payload: Any) -> None:
    """Send payload to every open socket (every tab) of this user."""
    await apush_to_group(user_group(user), payload)


def push_to_group(group: str, payload: Any) -> None:
    """apush_to_group for sync code (views, signals, tasks, commands)."""
    async_to_sync(apush_to_group)(group, payload)


def push_to_user(user: "User", payload: Any) -> None:
    """apush_to_user for sync code (views, signals, tasks, commands)."""
    async_to_sync(apush_to_user)(user, payload)
