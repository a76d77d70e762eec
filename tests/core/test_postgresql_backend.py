"""The database backend's health check: no round trip for a healthy connection, and a
connection the server dropped is replaced before the next request's first query."""

import select
import time

import psycopg
import pytest
from django.db import close_old_connections, connection, transaction
from django.test.utils import CaptureQueriesContext


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
def persistent_connection(django_db_setup, django_db_blocker):
    """The test database outside a test transaction (what a web process sees), without
    `transaction=True`, whose flush afterwards would empty the tables other tests share."""
    django_db_blocker.unblock()
    connection.close()
    old = connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"]
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.settings_dict["CONN_HEALTH_CHECKS"] = True
    yield
    connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"] = old
    connection.close()
    django_db_blocker.restore()


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


def _search_path_statements(run) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        run()
    return [q["sql"] for q in queries if q["sql"].startswith("SET search_path")]


def _query_in(schema: str) -> None:
    connection.set_schema(schema)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_selecting_the_schema_already_in_effect_sends_no_set_search_path(persistent_connection):
    _query_in("public")
    assert _search_path_statements(lambda: _query_in("public")) == []
    assert _search_path_statements(lambda: _query_in("acme_x")) == [
        'SET search_path = "acme_x","public"'
    ]
    assert _search_path_statements(lambda: _query_in("acme_x")) == []


def test_after_a_rollback_the_search_path_is_set_again(persistent_connection):
    _query_in("public")

    def in_rolled_back_transaction() -> None:
        with transaction.atomic():
            _query_in("acme_x")
            transaction.set_rollback(True)

    in_rolled_back_transaction()
    # The server forgot "acme_x" with the transaction (asked on the driver's own cursor,
    # which sends no SET of its own).
    assert connection.connection.execute("SHOW search_path").fetchone()[0] == "public"
    assert _search_path_statements(lambda: _query_in("acme_x")) == [
        'SET search_path = "acme_x","public"'
    ]


def test_a_new_connection_gets_its_search_path(persistent_connection):
    _query_in("acme_x")
    connection.close()
    assert _search_path_statements(lambda: _query_in("acme_x")) == [
        'SET search_path = "acme_x","public"'
    ]
