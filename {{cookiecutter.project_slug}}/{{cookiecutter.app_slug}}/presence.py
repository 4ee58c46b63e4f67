"""Who is in a room, across processes: one entry per socket, renewed every heartbeat.

An entry not renewed for ENTRY_LIFETIME heartbeats is a dead socket's (its server
was killed, so nothing left the room for it): the next member to renew its own
entry removes it, and the room hears of it within three heartbeats. With Redis the
entries are a sorted set per room, scored by expiry time; with the in-memory layer,
a dict in this one process.
"""

import time
from dataclasses import dataclass
from typing import Any

from channels.layers import BaseChannelLayer, InMemoryChannelLayer

ENTRY_LIFETIME = 2  # heartbeats
# Redis keys of a room nobody has renewed for this long go: a day, as group_expiry.
KEY_LIFETIME = 86400


@dataclass
class Presence:
    """A room's members after a change; version orders the changes of a room."""

    changed: bool
    count: int
    users: list[str]
    version: int

    def members(self) -> dict[str, Any]:
        """What a room's sockets receive, as {"presence": members()}."""
        return {"count": self.count, "users": self.users}


def entry(channel_name: str, username: str) -> str:
    # Usernames hold no tab (Django allows letters, digits and @.+-_).
    return f"{channel_name}\t{username}"


def summary(entries: list[str], changed: bool, version: int) -> Presence:
    users = {name for name in (e.split("\t", 1)[1] for e in entries) if name}
    return Presence(changed, len(entries), sorted(users), version)


# The in-memory layer's rooms: group -> {entry: expiry time}, and their versions.
local_rooms: dict[str, dict[str, float]] = {}
local_versions: dict[str, int] = {}


def update_local(group: str, member: str, expires: float | None) -> Presence:
    room = local_rooms.setdefault(group, {})
    if expires is None:
        changed = room.pop(member, None) is not None
    else:
        changed = member not in room
        room[member] = expires
    now = time.time()
    dead = [e for e, expiry in room.items() if expiry <= now]
    for e in dead:
        del room[e]
    if not room:
        local_rooms.pop(group)
    local_versions[group] = version = local_versions.get(group, 0) + 1
    return summary(list(room), changed or bool(dead), version)


async def update_redis(
    layer: Any, group: str, member: str, expires: float | None
) -> Presence:
    key, version_key = f"presence:{group}", f"presence-version:{group}"
    redis = layer.connection(layer.consistent_hash(group))  # the layer's own pool
    # One transaction: the change, the removal of dead entries and the version are
    # seen together, so a later version never holds an older list.
    async with redis.pipeline(transaction=True) as pipe:
        if expires is None:
            pipe.zrem(key, member)
        else:
            pipe.zadd(key, {member: expires})
        pipe.zremrangebyscore(key, "-inf", time.time())
        pipe.zrange(key, 0, -1)
        pipe.incr(version_key)
        pipe.expire(key, KEY_LIFETIME)
        pipe.expire(version_key, KEY_LIFETIME)
        added_or_removed, dead, entries, version, *_ = await pipe.execute()
    members = [e.decode() for e in entries]
    return summary(members, bool(added_or_removed or dead), version)


async def update(
    layer: BaseChannelLayer,
    group: str,
    channel_name: str,
    username: str,
    lifetime: float | None,
) -> Presence:
    """Enter or renew (lifetime in seconds) or leave (None) a room's presence."""
    member = entry(channel_name, username)
    expires = None if lifetime is None else time.time() + lifetime
    if isinstance(layer, InMemoryChannelLayer):
        return update_local(group, member, expires)
    return await update_redis(layer, group, member, expires)
