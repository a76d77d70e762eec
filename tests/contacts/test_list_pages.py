"""The public API's contact list and search pages read rows without model instances and
compile only their WHERE clause (`ContactQuerySet.page`, `selectors.contact_page`). These
tests hold them to what the ORM path answered: the same bytes, rows, counts and SQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Value
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context
from rest_framework.renderers import JSONRenderer

from apps.api.pagination import pagination_envelope
from apps.api.redis import redis_client
from apps.contacts.api.serializers import ContactSerializer
from apps.contacts.events import CONTACT_DATA_FIELDS, contact_data, contact_data_row
from apps.contacts.models import Contact
from apps.contacts.selectors import ContactFilters, contact_list, contact_page
from apps.contacts.services import (
    contact_update,
    group_add_contacts,
    group_create,
    source_create,
)
from tests.contacts.conftest import make_contact

BASE = "/api/v1/public"
QUERYSET = Contact.objects.model.objects._queryset_class


def _forget_cached_counts_and_edges() -> None:
    client = redis_client()
    for pattern in ("contacts:count:*", "contacts:window-edge:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)


@pytest.fixture
def empty_cache():
    _forget_cached_counts_and_edges()
    yield
    _forget_cached_counts_and_edges()


@pytest.fixture
def small_window(monkeypatch, empty_cache):
    monkeypatch.setattr(QUERYSET, "SEARCH_WINDOW", 4)


@pytest.fixture
def reader(acme, api_client):
    return api_client(acme, scopes=["contacts:read"])


def _varied_contacts() -> list[Contact]:
    """Contacts with every kind of value a page shows: nulls, unicode, nested custom fields,
    a source, a changed contact (updated_at), a creation time without microseconds."""
    source = source_create(name="Fair", kind="form")
    bare = make_contact(first_name="Bare")
    full = make_contact(
        first_name="Zoë",
        last_name="Ñúñez",
        email="zoe@acme.test",
        company='Acme "Quotes" & <Co>',
        job_title="CTO",
        status="lead",
        tags=["vip", "ünï"],
        custom_fields={"plan": "pro", "nested": {"b": [1, 2.5, None], "a": True}, "z": ""},
        source_id=str(source.pk),
    )
    changed = make_contact(first_name="Changed", status="customer")
    contact_update(contact=changed, changes={"company": "Later Ltd"})
    round_second = make_contact(first_name="Round")
    Contact.objects.filter(pk=round_second.pk).update(
        created_at=timezone.now().replace(microsecond=0) + timedelta(seconds=5)
    )
    return [bare, full, changed, round_second]


def test_a_row_renders_as_the_contact_does(in_acme):
    for contact in _varied_contacts():
        contact.refresh_from_db()
        row = Contact.objects.filter(pk=contact.pk).values_list(*CONTACT_DATA_FIELDS).get()
        assert contact_data_row(row) == contact_data(contact)
        assert list(contact_data_row(row)) == list(contact_data(contact))


FILTERS = [
    ContactFilters(),
    ContactFilters(status="lead"),
    ContactFilters(tag="vip"),
    ContactFilters(search="zoë"),
    ContactFilters(search="acme.test"),
    ContactFilters(search="zoe@acme", sort="oldest"),
    ContactFilters(search="+9198"),
    ContactFilters(search="a", sort="first_name"),
    ContactFilters(sort="-company"),
    ContactFilters(sort="updated"),
    ContactFilters(opted_out=False),
]


# What GET /contacts takes: search, status, tag (sorting and opt-outs are the dashboard's).
API_FILTERS = [f for f in FILTERS if f.sort == "newest" and f.opted_out is None]


@pytest.mark.parametrize("filters", API_FILTERS, ids=repr)
@pytest.mark.parametrize("page, limit", [(1, 2), (2, 2), (9, 2), (None, None)])
def test_list_pages_are_byte_for_byte_the_serializers(
    reader, acme, filters, page, limit, small_window
):
    with schema_context("acme"):
        _varied_contacts()
        make_contact(first_name="Zoë", last_name="Again", status="lead", tags=["vip"])
    params = {"search": filters.search, "status": filters.status, "tag": filters.tag}
    params.update(page=page, limit=limit)
    response = reader.get(f"{BASE}/contacts", {k: v for k, v in params.items() if v})
    assert response.status_code == 200
    page, limit = page or 1, limit or 20
    with schema_context("acme"):
        listed = contact_list(filters=filters)
        expected = {
            "data": ContactSerializer(
                list(listed[(page - 1) * limit : page * limit]), many=True
            ).data,
            "pagination": pagination_envelope(page=page, limit=limit, total_items=listed.count()),
        }
    assert response.content == JSONRenderer().render(expected)


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_pages_hold_the_rows_and_totals_of_slicing_and_counting(in_acme, filters, small_window):
    _varied_contacts()
    for n in range(6):
        make_contact(first_name=f"Zoë {n}", status="lead", tags=["vip"])
    for offset, limit in [(0, 2), (2, 2), (0, 20), (4, 3), (30, 5)]:
        rows, total = contact_list(filters=filters).page(
            offset=offset, limit=limit, columns=CONTACT_DATA_FIELDS
        )
        listed = contact_list(filters=filters)
        expected_total = listed.count()
        expected = list(listed.values_list(*CONTACT_DATA_FIELDS)[offset : offset + limit])
        assert rows == expected
        if offset or len(rows) == limit:
            assert total == expected_total


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_the_assembled_sql_is_the_orms(in_acme, filters):
    group = group_create(name="VIP")
    source = source_create(name="Fair", kind="form")
    for extra in ({}, {"group_id": group.pk}, {"source_id": source.pk}):
        listed = contact_list(filters=ContactFilters(**{**vars(filters), **extra}))
        _, _, sql, params = listed._plain_sql()
        assert (sql, params) == listed.query.sql_with_params()


def test_group_and_source_filters_page_like_the_orm(in_acme, empty_cache):
    contacts = _varied_contacts()
    group = group_create(name="VIP")
    group_add_contacts(group=group, contact_ids=[contacts[0].pk, contacts[2].pk])
    for filters in (
        ContactFilters(group_id=group.pk),
        ContactFilters(source_id=contacts[1].source_id),
        ContactFilters(group_id="not-a-uuid"),
    ):
        rows, total = contact_list(filters=filters).page(
            offset=0, limit=20, columns=CONTACT_DATA_FIELDS
        )
        assert rows == list(contact_list(filters=filters).values_list(*CONTACT_DATA_FIELDS))
        assert total == len(rows)


def test_a_list_the_plain_sql_cannot_express_pages_through_the_orm(in_acme, empty_cache):
    _varied_contacts()
    annotated = contact_list().annotate(one=Value(1))
    assert annotated._plain_sql() is None
    rows, total = annotated.page(offset=1, limit=2, columns=CONTACT_DATA_FIELDS)
    assert rows == list(contact_list().values_list(*CONTACT_DATA_FIELDS)[1:3])
    assert total == 4


def test_a_page_shares_the_cached_count_of_the_list(in_acme, monkeypatch, empty_cache):
    monkeypatch.setattr(QUERYSET, "CACHED_COUNT_FROM", 3)
    for _ in range(3):
        make_contact()
    assert contact_list().page(offset=2, limit=1, columns=("id",))[1] == 3
    make_contact()
    assert contact_list().count() == 3  # the page's count, cached under the list's key
    assert contact_list().page(offset=2, limit=1, columns=("id",))[1] == 3


class _CountingRedis:
    def __init__(self, client):
        self.client, self.commands = client, []

    def __getattr__(self, name):
        self.commands.append(name)
        return getattr(self.client, name)


def test_a_searched_page_reads_its_count_and_window_edge_in_one_round_trip(
    in_acme, monkeypatch, small_window
):
    monkeypatch.setattr(QUERYSET, "SEARCHED_CACHED_COUNT_FROM", 2)
    for n in range(6):
        make_contact(first_name=f"Anurag {n}")
    search = ContactFilters(search="anurag")
    first = contact_page(filters=search, page=2, limit=2)  # caches the edge and the count
    counting = _CountingRedis(redis_client())
    monkeypatch.setattr("apps.contacts.models.redis_client", lambda: counting)
    with CaptureQueriesContext(connection) as queries:
        assert contact_page(filters=search, page=2, limit=2) == first
    assert counting.commands == ["mget"]
    assert len(queries) == 1
    assert '"contacts_contact"."created_at" >=' in queries[0]["sql"]
    assert first[1] == 6


def test_a_list_page_with_a_cached_count_is_one_statement(
    reader, acme, monkeypatch, empty_cache, django_assert_max_num_queries
):
    monkeypatch.setattr(QUERYSET, "CACHED_COUNT_FROM", 2)
    with schema_context("acme"):
        for _ in range(3):
            make_contact()
    assert reader.get(f"{BASE}/contacts?limit=2").json()["pagination"]["total_items"] == 3
    with django_assert_max_num_queries(1):
        body = reader.get(f"{BASE}/contacts?page=2&limit=2").json()
    assert len(body["data"]) == 1


def test_a_searched_page_with_cached_count_and_edge_is_one_statement(
    reader, acme, monkeypatch, small_window, django_assert_max_num_queries
):
    monkeypatch.setattr(QUERYSET, "SEARCHED_CACHED_COUNT_FROM", 2)
    with schema_context("acme"):
        for n in range(6):
            make_contact(first_name=f"Anurag {n}")
    url = f"{BASE}/contacts/search?limit=2"
    assert reader.post(url, {"search_term": "anurag"}, format="json").status_code == 200
    with django_assert_max_num_queries(1):
        body = reader.post(url, {"search_term": "anurag"}, format="json").json()
    assert [c["first_name"] for c in body["data"]] == ["Anurag 5", "Anurag 4"]
    assert body["pagination"]["total_items"] == 6


def test_a_searched_page_with_nothing_cached_reads_redis_once(in_acme, monkeypatch, small_window):
    monkeypatch.setattr(QUERYSET, "SEARCHED_CACHED_COUNT_FROM", 2)
    for n in range(6):
        make_contact(first_name=f"Anurag {n}")
    counting = _CountingRedis(redis_client())
    monkeypatch.setattr("apps.contacts.models.redis_client", lambda: counting)
    rows, total = contact_page(filters=ContactFilters(search="anurag"), page=1, limit=2)
    assert [r["first_name"] for r in rows] == ["Anurag 5", "Anurag 4"] and total == 6
    # One read for the edge and the count, then the two values cached.
    assert counting.commands == ["mget", "set", "set"]
