"""Push to connected users from anywhere: views, signals, tasks, commands, the shell.

Sockets join groups (NotificationsConsumer: one group per user); these functions
send to a group through the channel layer. Use push_to_user/push_to_group in sync
code and apush_to_user/apush_to_group in consumers and async views.
"""

import json
import sys
from typing import TYPE_CHECKING, Any, TypeAlias

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    User: TypeAlias = AbstractBaseUser | AnonymousUser | int

# The event every push sends: a consumer in a pushed-to group handles it in its
# push_message method and sends event["text"], the payload as JSON, to its socket.
PUSH_TYPE = "push.message"


def user_group(user: "User") -> str:
    """The group every socket of this user (a user or an integer primary key) joins."""
    # Imported here: the auth models need the app registry, which may not be ready
    # when this module is imported.
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    if isinstance(user, AnonymousUser):
        raise ValueError("An anonymous user has no group: push to a logged-in user.")
    if isinstance(user, AbstractBaseUser):
        return f"user_{user.pk}"
    # A username, or a primary key read from a URL, would name a group no socket
    # joins, and the push would vanish without a word.
    if not isinstance(user, int) or isinstance(user, bool):
        raise TypeError(
            f"push_to_user() takes a user object or its integer primary key, not "
            f"{type(user).__name__} {user!r}: for a username, pass "
            "get_user_model()._default_manager.get_by_natural_key(name)."
        )
    return f"user_{user}"


# The one statement of this rule: manage.py push and every helper below use it.
IN_MEMORY = (
    "The in-memory channel layer lives inside the server process, so nothing sent "
    "from this process (a shell, a worker, a command) reaches its clients: push from "
    "a view or a consumer, or use Redis (channel_layer=redis when generating, or "
    "CHANNEL_LAYERS with channels_redis in settings.py)."
)


def serves_asgi_application() -> bool:
    """Whether this process imported ASGI_APPLICATION: a server, or the tests."""
    module = getattr(settings, "ASGI_APPLICATION", "").rpartition(".")[0]
    return bool(module) and module in sys.modules


def channel_layer() -> BaseChannelLayer:
    """The default layer, refused where a push through it could reach no one."""
    layer = get_channel_layer()
    if layer is None:
        raise ImproperlyConfigured(
            "CHANNEL_LAYERS has no 'default' layer: pushes need one (settings.py)."
        )
    if isinstance(layer, InMemoryChannelLayer) and not serves_asgi_application():
        raise ImproperlyConfigured(IN_MEMORY)
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
