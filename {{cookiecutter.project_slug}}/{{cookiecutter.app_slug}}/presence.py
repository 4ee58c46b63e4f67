"""Who is in a room, across processes: one entry per socket, renewed every heartbeat.

An entry not renewed for ENTRY_LIFETIME heartbeats is a dead socket's (its server
was killed, so nothing left the room for it): the next member to renew its own
entry removes it, and the room hears of it within three heartbeats. With Redis the
entries are a sorted set per room, scored by expiry time; with the in-memory layer,
a dict in this one process.
"""

import itertools
import time
from dataclasses import dataclass
from typing import Any

from channels.layers import BaseChannelLayer, InMemoryChannelLayer

ENTRY_LIFETIME = 2  # heartbeats
# Redis keys of a room nobody has renewed for this long go: a day, as group_expiry.
KEY_LIFETIME = 86400


@dataclass
class Presence:
    """A room's members after an update; version orders the changes of a room,
    and changed says whether there was one (count and users are its result)."""

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


# The in-memory layer's rooms: group -> {entry: expiry time}. One counter orders the
# changes of every room: a dict of versions would keep a key per room ever named.
local_rooms: dict[str, dict[str, float]] = {}
local_versions = itertools.count(1)


def update_local(group: str, member: str, lifetime: float | None) -> Presence:
    room = local_rooms.setdefault(group, {})
    now = time.monotonic()
    if lifetime is None:
        changed = room.pop(member, None) is not None
    else:
        changed = member not in room
        room[member] = now + lifetime
    dead = [e for e, expiry in room.items() if expiry <= now]
    for e in dead:
        del room[e]
    if not room:
        local_rooms.pop(group)
    return summary(list(room), changed or bool(dead), next(local_versions))


# One script, so that it runs at once and on Redis's clock: every server's entries
# expire by the same time, however far apart the machines' clocks are. It reads the
# room only when something changed, not on every socket's heartbeat. The version is
# Redis's time and a counter: it grows even after Redis has lost its data.
UPDATE = """
local now = redis.call('TIME')
local seconds = tonumber(now[1]) + tonumber(now[2]) / 1e6
local changed
if ARGV[2] == '' then
  changed = redis.call('ZREM', KEYS[1], ARGV[1])
else
  changed = redis.call('ZADD', KEYS[1], seconds + tonumber(ARGV[2]), ARGV[1])
end
changed = changed + redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', seconds)
if changed == 0 then
  return {0}
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
local count = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {1, now[1], now[2], count, redis.call('ZRANGE', KEYS[1], 0, -1)}
"""


async def update_redis(
    layer: Any, group: str, member: str, lifetime: float | None
) -> Presence:
    redis = layer.connection(layer.consistent_hash(group))  # the layer's own pool
    # Under the layer's prefix ("asgi"), beside its groups: layer.flush() clears both.
    prefix = f"{layer.prefix}:presence"
    keys = [f"{prefix}:{group}", f"{prefix}-version:{group}"]
    args = [member, "" if lifetime is None else lifetime, KEY_LIFETIME]
    result = await redis.eval(UPDATE, len(keys), *keys, *args)
    if not result[0]:
        return Presence(False, 0, [], 0)
    _, seconds, microseconds, count, entries = result
    version = (int(seconds) * 1_000_000 + int(microseconds)) * 1000 + int(count) % 1000
    return summary([e.decode() for e in entries], True, version)


async def update(
    layer: BaseChannelLayer,
    group: str,
    channel_name: str,
    username: str,
    lifetime: float | None,
) -> Presence:
    """Enter or renew (lifetime in seconds) or leave (None) a room's presence."""
    member = entry(channel_name, username)
    if isinstance(layer, InMemoryChannelLayer):
        return update_local(group, member, lifetime)
    return await update_redis(layer, group, member, lifetime)
