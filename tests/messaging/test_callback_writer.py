"""Storing callbacks from a threaded web process: concurrent requests share an INSERT on the
process's writer thread, and nobody is told 200 before their own row is committed."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from apps.messaging import callbacks_drain
from apps.messaging.callbacks.models import MetaCallback


@pytest.fixture(autouse=True)
def writer_stopped():
    """Each test ends the writer thread, which closes its connection to the test database."""
    yield
    callbacks_drain.callbacks_writer_stop()


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """The writer thread commits on its own connection, so these tests run outside a test
    transaction. Not with `transaction=True`: its flush afterwards empties every table, the
    workspaces other tests share included. The rows these tests commit are removed instead."""
    django_db_blocker.unblock()
    MetaCallback.objects.all().delete()
    yield
    callbacks_drain.callbacks_writer_stop()
    MetaCallback.objects.all().delete()
    django_db_blocker.restore()


@pytest.fixture
def no_nudge(monkeypatch):
    monkeypatch.setattr(callbacks_drain, "drain_nudge", lambda: None)


def store_concurrently(bodies: list[bytes]) -> list[int | Exception]:
    """callback_store for each body, from a thread each, all released at once."""
    results: list[int | Exception] = [0] * len(bodies)
    start = threading.Barrier(len(bodies))

    def request(n: int) -> None:
        start.wait()
        try:
            results[n] = callbacks_drain.callback_store(body=bodies[n])
        except Exception as error:  # noqa: BLE001  (the test looks at it)
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=request, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_callbacks_are_each_stored_and_each_caller_gets_its_own_row(committed, no_nudge):
    bodies = [f'{{"n": {n}}}'.encode() for n in range(12)]

    ids = store_concurrently(bodies)

    assert all(isinstance(i, int) and i > 0 for i in ids)
    stored = {row.pk: bytes(row.body) for row in MetaCallback.objects.all()}
    assert dict(zip(ids, bodies, strict=True)) == stored


def test_a_failed_insert_fails_every_caller_of_its_batch_and_stores_nothing(
    committed, no_nudge, monkeypatch
):
    def down(bodies):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(callbacks_drain, "_insert", down)

    results = store_concurrently([b"{}"] * 5)

    assert all(isinstance(result, DatabaseError) for result in results)
    assert not MetaCallback.objects.exists()


def test_the_writer_retries_a_broken_connection_once_on_a_fresh_one(
    committed, no_nudge, monkeypatch
):
    real_insert = callbacks_drain._insert
    failures = iter([DatabaseError("server closed the connection")])

    def flaky(bodies):
        failure = next(failures, None)
        if failure:
            raise failure
        return real_insert(bodies)

    monkeypatch.setattr(callbacks_drain, "_insert", flaky)

    results = store_concurrently([b"{}"])

    assert isinstance(results[0], int)
    assert MetaCallback.objects.count() == 1


def test_the_drain_is_nudged_once_the_rows_are_committed(committed, monkeypatch):
    seen = []
    monkeypatch.setattr(
        callbacks_drain, "drain_nudge", lambda: seen.append(MetaCallback.objects.count())
    )

    store_concurrently([b"{}"])

    assert seen and seen[-1] == 1


@pytest.mark.django_db
def test_inside_a_transaction_the_row_is_stored_in_it_and_rolls_back_with_it(no_nudge):
    with pytest.raises(RuntimeError), transaction.atomic():
        callbacks_drain.callback_store(body=b"{}")
        assert MetaCallback.objects.count() == 1
        raise RuntimeError("the caller's transaction fails")

    assert not MetaCallback.objects.exists()


def test_a_stopped_writer_stores_what_waits_and_the_next_callback_starts_another(
    committed, no_nudge
):
    store_concurrently([b"{}"])
    callbacks_drain.callbacks_writer_stop()

    store_concurrently([b"{}", b"{}"])

    assert MetaCallback.objects.count() == 3
