"""Django's PostgreSQL backend, whose pool never hands out a connection that is dead.

CONN_HEALTH_CHECKS would give the pool psycopg's check, which replaces a dead
connection but waits (0 s, then 1, 2, 4 s...) before checking the next. After a
restart, a failover or pg_terminate_backend every idle connection is dead, and a
thread that needs one (a process's WebSocket handshakes all share one thread) would
pass the pool's timeout first. Here each connection is checked as it is handed out,
and the first dead one makes psycopg check every idle one (pool.check()).
"""

from typing import Any

import psycopg
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        pool = self.pool
        if pool is None:
            return super().get_new_connection(conn_params)
        # Each dead one is replaced, so a live one comes within max_size + 1 tries;
        # after that the database itself is down, and the pool's timeout tells.
        for attempt in range(pool.max_size + 1):
            connection = super().get_new_connection(conn_params)
            try:
                pool.check_connection(connection)  # psycopg's own check
                return connection
            except psycopg.Error:
                pool.putconn(connection)  # the pool discards it and opens another
                if attempt == 0:
                    pool.check()  # and so for every idle one PostgreSQL ended
        return super().get_new_connection(conn_params)
