"""Django's PostgreSQL backend, with one change: when the connection pool hands out a
connection that PostgreSQL has ended, every idle one is checked, not just that one.

CONN_HEALTH_CHECKS would give the pool psycopg's check, which replaces a dead
connection but then waits 1 s, 2 s, 4 s... before checking the next. After a restart,
a failover or pg_terminate_backend every idle connection is dead, and a thread that
needs one (a process's WebSocket handshakes all share one thread) would pass the
pool's timeout first. Here the same check runs on each connection handed out, and the
first dead one makes psycopg check them all (pool.check()): the next one is live.
"""

from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if self.pool is None:
            return connection
        try:
            ConnectionPool.check_connection(connection)  # psycopg's own check
        except psycopg.Error:
            self.pool.putconn(connection)  # the pool discards it and opens another
            self.pool.check()  # and so for each other one PostgreSQL ended
            connection = super().get_new_connection(conn_params)
        return connection
