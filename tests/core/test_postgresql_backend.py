"""The database backend's health check: no round trip for a healthy connection, and a
connection the server dropped is replaced before the next request's first query."""

import select
import time

import psycopg
import pytest
from django.db import close_old_connections, connection

pytestmark = pytest.mark.django_db(transaction=True)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _terminate(pid: int) -> None:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The server's goodbye reaches our socket asynchronously.
    deadline = time.monotonic() + 5
    while not select.select([connection.connection.fileno()], [], [], 0.05)[0]:
        assert time.monotonic() < deadline, "the terminated backend never closed the socket"


@pytest.fixture
def persistent_connection(settings):
    connection.close()
    old = connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"]
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.settings_dict["CONN_HEALTH_CHECKS"] = True
    yield
    connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"] = old
    connection.close()


def test_a_healthy_idle_connection_is_usable_and_kept_across_requests(persistent_connection):
    pid = _backend_pid()
    assert connection.is_usable()
    close_old_connections()  # what Django runs as each request starts and ends
    assert _backend_pid() == pid


def test_a_connection_the_server_terminated_is_replaced_before_the_next_query(
    persistent_connection,
):
    pid = _backend_pid()
    _terminate(pid)
    assert not connection.is_usable()
    close_old_connections()
    assert _backend_pid() != pid


def test_a_closed_connection_is_not_usable(persistent_connection):
    _backend_pid()
    connection.connection.close()
    assert not connection.is_usable()
