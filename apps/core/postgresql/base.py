"""django-tenants' PostgreSQL backend with a health check that costs no round trip.

Connections persist across requests (CONN_MAX_AGE) and are checked before each request's
first query (CONN_HEALTH_CHECKS). Django checks with `SELECT 1`: a round trip to PostgreSQL
on every request, which was a third of the public API layer's cost (bench/api_overhead.py).
An idle connection has nothing to read, so a socket with pending input is one the server has
written to while we were not asking: in practice its goodbye (a terminated backend, a restart)
followed by end-of-file. Such a connection is closed and replaced, as a failed `SELECT 1`
would be; a healthy one is used without asking the server anything.
"""

from __future__ import annotations

import select

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from psycopg import pq


class DatabaseWrapper(TenantDatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.pgconn.status != pq.ConnStatus.OK:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable
