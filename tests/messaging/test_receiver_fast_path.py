"""The WSGI fast path of /webhooks/whatsapp (lynkist/wsgi.py): the same rules as the Django
view, answered without Django's middleware, and every other request left to Django."""

from __future__ import annotations

import io

import pytest
from django.core.signals import request_finished, request_started
from django.db import DatabaseError, close_old_connections

from apps.messaging import receiver
from apps.messaging.callbacks.models import MetaCallback
from lynkist.wsgi import application
from tests.messaging.helpers import dumps, envelope, sign, status

pytestmark = pytest.mark.django_db
SECRET = "test-app-secret"
BODY = dumps(envelope("123", statuses=[status("wamid.F1", "read")]))


@pytest.fixture(autouse=True)
def meta_settings(settings):
    settings.META_APP_SECRET = SECRET
    settings.META_VERIFY_TOKEN = "verify-me"


@pytest.fixture
def keep_test_connection():
    """Requests that reach Django close the database connection when they end, which would
    end the test's transaction (Django's test client detaches the same handlers)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def call(method="POST", path="/webhooks/whatsapp", body=b"", headers=None, query=""):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        **(headers or {}),
    }
    answer = {}
    chunks = application(environ, lambda status, headers: answer.update(status=status))
    content = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return answer["status"], content


def signed(body=BODY, secret=SECRET):
    return {"HTTP_X_HUB_SIGNATURE_256": sign(body, secret)}


def test_a_signed_callback_is_stored_byte_for_byte_and_acknowledged():
    status_line, content = call(body=BODY, headers=signed())
    assert (status_line, content) == ("200 OK", b"EVENT_RECEIVED")
    assert bytes(MetaCallback.objects.get().body) == BODY


@pytest.mark.parametrize("headers", [{}, signed(secret="another-secret"), signed(b"other")])
def test_a_missing_or_wrong_signature_is_403_and_stores_nothing(headers):
    assert call(body=BODY, headers=headers)[0] == "403 Forbidden"
    assert not MetaCallback.objects.exists()


def test_a_malformed_content_length_is_400(monkeypatch):
    status_line, _ = call(body=BODY, headers={**signed(), "CONTENT_LENGTH": "many"})
    assert status_line == "400 Bad Request"
    assert not MetaCallback.objects.exists()


def test_a_body_over_the_upload_limit_is_413_without_reading_it(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    assert call(body=BODY, headers=signed())[0] == "413 Content Too Large"
    assert not MetaCallback.objects.exists()


def test_a_broken_connection_is_retried_once_on_a_fresh_one(monkeypatch):
    real_store = receiver.callback_store
    failures = iter([DatabaseError("server closed the connection")])

    def flaky_store(*, body):
        failure = next(failures, None)
        if failure:
            raise failure
        return real_store(body=body)

    monkeypatch.setattr(receiver, "callback_store", flaky_store)
    monkeypatch.setattr(receiver.connection, "close", lambda: None)  # keeps the test's transaction
    assert call(body=BODY, headers=signed())[0] == "200 OK"
    assert MetaCallback.objects.count() == 1


def test_a_database_that_stays_down_is_503_so_meta_retries(monkeypatch):
    def down(*, body):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(receiver, "callback_store", down)
    monkeypatch.setattr(receiver.connection, "close", lambda: None)
    assert call(body=BODY, headers=signed())[0] == "503 Service Unavailable"


def test_the_verification_handshake_still_goes_through_django(keep_test_connection):
    query = "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42"
    status_line, content = call(method="GET", query=query)
    assert (status_line, content) == ("200 OK", b"42")


def test_other_paths_are_left_to_django(keep_test_connection):
    status_line, content = call(path="/webhooks/whatsapp/other", body=BODY, headers=signed())
    assert status_line.startswith("404")
    assert not MetaCallback.objects.exists()
