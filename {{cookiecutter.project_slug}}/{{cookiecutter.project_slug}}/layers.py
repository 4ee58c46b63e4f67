"""The Redis channel layer on a pool of at most max_connections that waits when full.

channels_redis gives redis-py's ConnectionPool, which opens a connection for every
command in flight, keeps them all, and past max_connections raises: 400 handshakes
at once left 401 connections open to Redis for the life of the process, and a pool
of 50 refused 351 of them. This pool stops at max_connections and makes a burst
wait its turn (at most "timeout" seconds) instead.
"""

from typing import Any

from channels_redis.core import RedisChannelLayer as ChannelsRedisLayer
from redis.asyncio import BlockingConnectionPool


class RedisChannelLayer(ChannelsRedisLayer):  # type: ignore[misc]
    def create_pool(self, index: int) -> BlockingConnectionPool:
        host: dict[str, Any] = dict(self.hosts[index])
        return BlockingConnectionPool.from_url(host.pop("address"), **host)
