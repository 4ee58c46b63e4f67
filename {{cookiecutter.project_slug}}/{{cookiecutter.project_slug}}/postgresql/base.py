"""Django's PostgreSQL backend, with one change: when the connection pool hands out a
connection that PostgreSQL has ended, every idle one is checked, not just that one.

psycopg's own check (what CONN_HEALTH_CHECKS turns on) replaces a dead connection,
but waits 1 s, 2 s, 4 s... before checking the next. After a restart, a failover or
pg_terminate_backend every idle connection is dead, and one thread that needs one
(every WebSocket handshake of a process runs in the same thread) would pass the
pool's timeout first: handshakes would fail until the pool emptied itself. Here the
first dead one makes psycopg check them all (pool.check()), and the next is live.
"""

from typing import Any

import psycopg
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if self.pool is None:
            return connection
        try:
            connection.execute("")  # a round trip, as psycopg's check does
        except psycopg.Error:
            self.pool.putconn(connection)  # the pool discards it and opens another
            self.pool.check()  # and so for each other one PostgreSQL ended
            connection = super().get_new_connection(conn_params)
        return connection
