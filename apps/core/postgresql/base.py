"""django-tenants' PostgreSQL backend, with two round trips fewer per request.

1. The search path is set only when it changes. django-tenants forgets what it set whenever a
   tenant is selected, even the one already in effect, so every request (each starts in the
   public schema and then enters its workspace) and every `schema_context` sent a
   `SET search_path` before its first query. This backend remembers the path in effect on the
   connection and skips the statement when the wanted one is the same. It forgets it where the
   server would: a new connection, a rollback, a rollback to a savepoint.

2. The health check costs no round trip. Connections persist across requests (CONN_MAX_AGE)
   and are checked before each request's first query (CONN_HEALTH_CHECKS). Django checks with
   `SELECT 1`: a round trip on every request, a third of the public API layer's cost
   (bench/api_overhead.py). An idle connection has nothing to read, so a socket with input
   pending is one the server wrote to while we were not asking: in practice its goodbye (a
   terminated backend, a restart) and end-of-file. Such a connection is closed and replaced,
   as a failed `SELECT 1` would be; a healthy one is used without asking the server anything.
"""

from __future__ import annotations

import select

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from psycopg import pq


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        self._search_path_in_effect: list[str] | None = None
        super().__init__(*args, **kwargs)

    def _handle_search_path(self, cursor=None) -> None:
        if (
            not self._setting_search_path
            and self.schema_name
            and self._search_path_in_effect is not None
            and self._search_path_in_effect == self._get_cursor_search_paths()
        ):
            self.search_path_set_schemas = self._search_path_in_effect
            return
        super()._handle_search_path(cursor)
        if not self._setting_search_path:
            self._search_path_in_effect = self.search_path_set_schemas

    def connect(self) -> None:
        self._search_path_in_effect = None
        super().connect()

    def close(self) -> None:
        self._search_path_in_effect = None
        super().close()

    def rollback(self) -> None:
        self._search_path_in_effect = None
        super().rollback()

    def savepoint_rollback(self, sid) -> None:
        try:
            super().savepoint_rollback(sid)
        finally:
            self._search_path_in_effect = None

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.pgconn.status != pq.ConnStatus.OK:
            return False
        # poll, not select: select refuses file descriptors above 1023.
        poller = select.poll()
        try:
            poller.register(connection.fileno(), select.POLLIN)
            events = poller.poll(0)
        except (OSError, ValueError):
            return False
        return not events
