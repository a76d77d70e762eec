import logging
import re

from django.test import Client


def test_every_response_gets_a_minted_request_id(db):
    response = Client().get("/healthz")
    assert re.fullmatch(r"req_[0-9a-f]{12}", response["X-Request-Id"])


def test_a_safe_client_request_id_is_honoured(db):
    response = Client().get("/accounts/login/", HTTP_X_REQUEST_ID="client-id.42")
    assert response["X-Request-Id"] == "client-id.42"


def test_an_unsafe_or_long_client_request_id_is_replaced(db):
    for bad in ["has space", "x" * 129, "new\nline"]:
        response = Client().get("/healthz", HTTP_X_REQUEST_ID=bad)
        assert response["X-Request-Id"].startswith("req_")


def test_log_lines_carry_the_request_id_even_for_error_responses(db, caplog, charlie_client):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = charlie_client.get("/acme/", HTTP_X_REQUEST_ID="trace-me")
    assert response.status_code == 404
    from apps.core.logging import JsonFormatter, RequestIdFilter

    record = next(r for r in caplog.records if r.name == "django.request")
    RequestIdFilter().filter(record)
    assert '"request_id": "trace-me"' in JsonFormatter().format(record)
