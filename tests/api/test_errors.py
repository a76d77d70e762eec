"""Every public API error leaves in the envelope, with the request id."""

from __future__ import annotations

import logging

import pytest
from rest_framework.test import APIClient

from tests.api.test_core import assert_envelope
from tests.api.views import PREFIX

pytestmark = pytest.mark.urls("tests.api.urls")


def test_an_unknown_path_is_a_404_envelope(acme, api_client):
    response = api_client(acme).get("/api/v1/public/no-such-thing")
    assert_envelope(response, 404, "not_found")
    assert response["Content-Type"] == "application/json"


def test_an_unknown_path_without_a_key_is_also_a_404_envelope(db):
    assert_envelope(APIClient().post("/api/v1/public/nope/deeper"), 404, "not_found")
    assert_envelope(APIClient().get("/api/v1/public"), 404, "not_found")
    assert_envelope(APIClient().get("/api/v1/public/me/"), 404, "not_found")


def test_a_wrong_method_is_a_405_envelope_with_allow(acme, api_client):
    response = api_client(acme).delete("/api/v1/public/me")
    body = assert_envelope(response, 405, "method_not_allowed")
    assert "DELETE" in body["error"]["message"]
    assert "GET" in response["Allow"]


def test_options_is_a_405_envelope(acme, api_client):
    assert_envelope(api_client(acme).options("/api/v1/public/me"), 405, "method_not_allowed")


def test_head_is_served_like_get(acme, api_client):
    assert api_client(acme).head("/api/v1/public/me").status_code == 200


def test_malformed_json_is_a_400_invalid_request(acme, api_client):
    response = api_client(acme).post(
        f"{PREFIX}/echo", data="{not json", content_type="application/json"
    )
    assert_envelope(response, 400, "invalid_request")


def test_serializer_errors_are_422_with_field_details(acme, api_client):
    response = api_client(acme).post(
        f"{PREFIX}/echo",
        {"name": "far too long a name", "items": [{"phone": "+4412345678"}, {"phone": "x"}]},
        format="json",
    )
    body = assert_envelope(response, 422, "validation_error")
    fields = {detail["field"]: detail["message"] for detail in body["error"]["details"]}
    assert set(fields) == {"name", "items[1].phone"}
    assert "10" in fields["name"]


def test_a_missing_required_field_is_reported_by_name(acme, api_client):
    response = api_client(acme).post(f"{PREFIX}/echo", {}, format="json")
    body = assert_envelope(response, 422, "validation_error")
    assert body["error"]["details"] == [{"field": "name", "message": "This field is required."}]


def test_application_errors_keep_their_status_code_and_details(acme, api_client):
    response = api_client(acme).delete(f"{PREFIX}/echo")
    body = assert_envelope(response, 409, "conflict")
    assert body["error"]["message"] == "Already gone."
    assert "call" in body["error"]["details"]


def test_a_crash_is_a_500_without_traceback_and_is_logged_with_the_request_id(
    acme, api_client, caplog
):
    with caplog.at_level(logging.ERROR, logger="apps.api"):
        response = api_client(acme).get(f"{PREFIX}/boom", HTTP_X_REQUEST_ID="crash-trace-1")
    body = assert_envelope(response, 500, "internal_error")
    assert "secret internal detail" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert body["request_id"] == "crash-trace-1"
    record = next(r for r in caplog.records if r.name == "apps.api")
    assert record.exc_info is not None
    from apps.core.logging import JsonFormatter, RequestIdFilter

    RequestIdFilter().filter(record)
    assert '"request_id": "crash-trace-1"' in JsonFormatter().format(record)


def test_the_dashboard_keeps_its_html_404(alice_client):
    response = alice_client.get("/acme/no-such-page/")
    assert response.status_code == 404
    assert "application/json" not in response["Content-Type"]


# --- pagination ------------------------------------------------------------------------------


@pytest.fixture
def five_keys(acme, api_client):
    client = api_client(acme, name="k0")
    from apps.apikeys.services import api_key_create

    for n in range(1, 5):
        api_key_create(tenant=acme, name=f"k{n}")
    return client


def test_pagination_envelope_on_a_middle_page(five_keys):
    body = five_keys.get(f"{PREFIX}/keys?page=2&limit=2").json()
    assert [item["name"] for item in body["data"]] == ["k2", "k3"]
    assert body["pagination"] == {
        "page": 2,
        "limit": 2,
        "total_items": 5,
        "total_pages": 3,
        "has_next": True,
        "has_prev": True,
    }


def test_pagination_defaults_and_last_page(five_keys):
    body = five_keys.get(f"{PREFIX}/keys").json()
    assert body["pagination"]["limit"] == 20
    assert body["pagination"]["has_next"] is False
    assert body["pagination"]["has_prev"] is False
    assert len(body["data"]) == 5


def test_a_page_past_the_end_is_empty(five_keys):
    body = five_keys.get(f"{PREFIX}/keys?page=9&limit=2").json()
    assert body["data"] == []
    assert body["pagination"]["has_next"] is False
    assert body["pagination"]["has_prev"] is True


def test_a_first_page_that_is_not_full_is_not_counted_again(five_keys):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as short:
        body = five_keys.get(f"{PREFIX}/keys?limit=10").json()
    assert body["pagination"]["total_items"] == 5 and body["pagination"]["total_pages"] == 1
    assert not [q for q in short.captured_queries if "COUNT(*)" in q["sql"]]
    with CaptureQueriesContext(connection) as full:
        body = five_keys.get(f"{PREFIX}/keys?limit=5").json()
    assert body["pagination"]["total_items"] == 5
    assert [q for q in full.captured_queries if "COUNT(*)" in q["sql"]]


def test_limit_above_100_is_clamped(five_keys):
    assert five_keys.get(f"{PREFIX}/keys?limit=500").json()["pagination"]["limit"] == 100


@pytest.mark.parametrize("query", ["limit=0", "page=0", "page=abc", "limit=-3"])
def test_bad_page_or_limit_is_a_422(five_keys, query):
    response = five_keys.get(f"{PREFIX}/keys?{query}")
    body = assert_envelope(response, 422, "validation_error")
    assert body["error"]["details"][0]["field"] in {"page", "limit"}


def test_nul_characters_are_a_400_not_a_database_error(acme, api_client):
    # Found by the API fuzzer: a NUL in a search term reached PostgreSQL and answered 500.
    client = api_client(acme)
    in_body = client.post(
        "/api/v1/public/contacts/search", {"search_term": "a\x00b"}, format="json"
    )
    in_query = client.get("/api/v1/public/contacts", {"search": "a\x00b"})
    for response in (in_body, in_query):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"


def test_a_page_number_beyond_any_offset_is_an_empty_page(five_keys):
    response = five_keys.get(f"{PREFIX}/keys?page=999999999999999999999&limit=100")
    assert response.status_code == 200
    assert response.json()["data"] == []


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/*, text/html"])
def test_clients_that_accept_json_get_json(acme, api_client, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = api_client(acme).get("/api/v1/public/me", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_a_client_that_accepts_only_html_gets_a_406_envelope(acme, api_client):
    response = api_client(acme).get("/api/v1/public/me", HTTP_ACCEPT="text/html")
    assert_envelope(response, 406, "not_acceptable")


def test_an_unknown_format_override_is_still_refused(acme, api_client):
    response = api_client(acme).get("/api/v1/public/me?format=xml")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
