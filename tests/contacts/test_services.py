import random

import phonenumbers
import pytest
from django.db import transaction

from apps.contacts.models import Contact, GroupMember
from apps.contacts.selectors import ContactFilters, contact_get, contact_list
from apps.contacts.services import (
    contact_archive,
    contact_bulk_action,
    contact_bulk_create,
    contact_create,
    contact_opt_out,
    contact_update,
    group_add_contacts,
    group_create,
    group_remove_contacts,
    note_add,
    phone_normalize,
    source_create,
)
from apps.core.errors import Conflict, NotFound, ValidationFailed
from apps.webhooks.models import Event
from tests.contacts.conftest import make_contact, search_plan


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("+91 99999 99999", "+919999999999"),
        ("0091-99999-99999", "+919999999999"),
        ("919999999999", "+919999999999"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("", None),
        (None, None),
    ],
)
def test_phones_are_normalised_to_e164(raw, expected):
    assert phone_normalize(raw) == expected


@pytest.mark.parametrize("raw", ["12", "+99 123", "call me", "+91 99999"])
def test_invalid_phones_are_refused(raw):
    with pytest.raises(ValidationFailed) as caught:
        phone_normalize(raw)
    assert caught.value.field == "phone"


def _full_parse(raw: str) -> str | None:
    """What phone_normalize answers for an international number, by phonenumbers alone."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _numbers_of_every_country() -> list[str]:
    """Example numbers of every region and type, plus their near misses: with a trunk prefix
    or a leading 0 after the country code, one digit changed, one digit short or extra."""
    rng = random.Random(4)
    # Valid as written, but parse reads its "8" as Belarus's trunk prefix and refuses the rest.
    numbers = ["+3758101028161"]
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        for kind in vars(phonenumbers.PhoneNumberType).values():
            if not isinstance(kind, int):
                continue
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            code = str(example.country_code)
            national = phonenumbers.national_significant_number(example)
            changed = list(national)
            changed[rng.randrange(len(changed))] = str(rng.randrange(10))
            numbers += [
                f"+{code}{national}",
                f"+{code}{metadata.national_prefix or ''}{national}",
                f"+{code}0{national}",
                f"+{code}{''.join(changed)}",
                f"+{code}{national[:-1]}",
                f"+{code}{national}{rng.randrange(10)}",
            ]
    return numbers


def test_plain_international_numbers_normalise_as_a_full_parse_would():
    # Numbers already in E.164 skip phonenumbers' parse; the answer must not change.
    numbers = _numbers_of_every_country()
    valid = 0
    for raw in numbers:
        expected = _full_parse(raw)
        if expected is None:
            with pytest.raises(ValidationFailed):
                phone_normalize(raw)
        else:
            assert phone_normalize(raw) == expected, raw
            valid += 1
    assert valid > 1000 and len(numbers) - valid > 1000


def test_create_normalises_and_emits_contact_created(in_acme):
    contact = contact_create(
        data={"first_name": " Anurag ", "phone": "+91 99999 99999", "email": "a@ACME.test"}
    )
    assert contact.first_name == "Anurag"
    assert contact.phone == "+919999999999"
    assert contact.email == "a@acme.test"
    assert contact.updated_at is None
    event = Event.objects.get(type="contact.created", data__id=str(contact.pk))
    assert event.data["phone"] == "+919999999999"


def test_first_name_is_required(in_acme):
    with pytest.raises(ValidationFailed, match="first_name must be at least 1 character"):
        contact_create(data={"first_name": ""})


def test_a_live_duplicate_phone_is_a_conflict_naming_the_existing_contact(in_acme):
    first = contact_create(data={"first_name": "A", "phone": "+919999999999"})
    with pytest.raises(Conflict) as caught:
        contact_create(data={"first_name": "B", "phone": "+91 99999-99999"})
    assert caught.value.details["existing_id"] == str(first.pk)


def test_the_unique_index_catches_a_duplicate_the_check_missed(in_acme, monkeypatch):
    # A racing request inserts the same phone between our check and our insert.
    from apps.contacts.services import contacts as module

    first = contact_create(data={"first_name": "A", "phone": "+919999999999"})
    monkeypatch.setattr(module, "_phone_in_use", lambda phone, exclude=None: False)
    with pytest.raises(Conflict) as caught:
        contact_create(data={"first_name": "B", "phone": "+919999999999"})
    assert caught.value.details["existing_id"] == str(first.pk)
    assert Contact.objects.filter(phone="+919999999999").count() == 1


def test_an_archived_contacts_phone_can_be_reused(in_acme):
    first = contact_create(data={"first_name": "A", "phone": "+919999999999"})
    contact_archive(contact=first)
    second = contact_create(data={"first_name": "B", "phone": "+919999999999"})
    assert second.pk != first.pk


def test_update_changes_only_given_fields_and_null_clears(in_acme):
    contact = make_contact(last_name="Sharma", company="Acme", tags=["a"])
    updated = contact_update(contact=contact, changes={"company": None, "tags": ["a", "b"]})
    assert updated.company is None
    assert updated.last_name == "Sharma"
    assert updated.tags == ["a", "b"]
    assert updated.updated_at is not None
    event = Event.objects.get(type="contact.updated", data__id=str(contact.pk))
    assert sorted(event.data["changed"]) == ["company", "tags"]


def test_update_to_a_taken_phone_is_a_conflict(in_acme):
    taken = make_contact()
    other = make_contact()
    with pytest.raises(Conflict) as caught:
        contact_update(contact=other, changes={"phone": taken.phone})
    assert caught.value.details["existing_id"] == str(taken.pk)


def test_archive_hides_the_contact_keeps_the_row_and_emits_deleted(in_acme):
    contact = make_contact()
    contact_archive(contact=contact)
    assert Contact.objects.filter(pk=contact.pk, archived_at__isnull=False).exists()
    assert not contact_list().filter(pk=contact.pk).exists()
    with pytest.raises(NotFound):
        contact_get(contact_id=contact.pk)
    assert Event.objects.filter(type="contact.deleted", data__id=str(contact.pk)).exists()


def test_a_rolled_back_create_leaves_no_contact_and_no_event(in_acme):
    with pytest.raises(RuntimeError), transaction.atomic():
        contact = contact_create(data={"first_name": "Ghost", "phone": "+919812345678"})
        raise RuntimeError("the caller fails after the change")
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not Event.objects.filter(data__id=str(contact.pk)).exists()


def test_bulk_create_reports_bad_rows_by_index_and_keeps_the_rest(in_acme):
    result = contact_bulk_create(
        items=[
            {"first_name": "Anurag", "phone": "+919999999999"},
            {"first_name": "Lara", "email": "lara@acme.test"},
            {"first_name": ""},
            {"first_name": "Dup", "phone": "+919999999999"},
        ]
    )
    assert (result.total, result.created, result.failed) == (4, 2, 2)
    assert result.errors[0] == {"index": 2, "error": "first_name must be at least 1 character"}
    assert result.errors[1]["index"] == 3
    assert Event.objects.filter(type="contact.created").count() == 2


def test_bulk_create_refuses_more_than_100(in_acme):
    with pytest.raises(ValidationFailed):
        contact_bulk_create(items=[{"first_name": "x"}] * 101)


def test_search_matches_names_email_company_and_phone_prefix(in_acme):
    anurag = make_contact(
        first_name="Anurag", last_name="Sharma", email="anurag@acme.test", company="Acme Corp"
    )
    lara = make_contact(first_name="Lara", company="Globex", phone="+14155552671")

    def found(term):
        return set(contact_list(filters=ContactFilters(search=term)).values_list("id", flat=True))

    assert found("nura") == {anurag.pk}
    assert found("SHARMA") == {anurag.pk}
    assert found("acme corp") == {anurag.pk}
    assert found("anurag sharma") == {anurag.pk}
    assert found("glob") == {lara.pk}
    assert found("+1415") == {lara.pk}
    assert found("1415555") == {lara.pk}
    assert found("nobody") == set()
    assert found("100%") == set()


def test_search_follows_edits_to_the_contact(in_acme):
    contact = make_contact(first_name="Meera", last_name="Rao")
    contact_update(contact=contact, changes={"last_name": "Krishnan", "company": "Initech"})
    found = contact_list(filters=ContactFilters(search="meera krishnan"))
    assert list(found.values_list("id", flat=True)) == [contact.pk]
    assert not contact_list(filters=ContactFilters(search="meera rao")).exists()
    assert contact_list(filters=ContactFilters(search="INITECH")).exists()


def test_text_search_can_be_answered_by_the_one_trigram_index(in_acme):
    """The filter must be exactly the indexed expression, or a million-row tenant scans."""
    make_contact(first_name="Priya", last_name="Iyer")
    query = contact_list(filters=ContactFilters(search="Priya IYER")).values("id")
    plan = search_plan(query)
    assert "Bitmap Index Scan on contact_search_trgm" in plan, plan
    assert query.count() == 1


def test_filters_by_status_tag_group_source_and_opt_out(in_acme):
    source = source_create(name="Website", kind="form")
    group = group_create(name="VIP")
    a = make_contact(status="lead", tags=["india"], source_id=str(source.pk))
    b = make_contact(status="customer", tags=["usa"])
    group_add_contacts(group=group, contact_ids=[b.pk])
    contact_opt_out(contact=a, reason="asked")

    def ids(**kw):
        return set(contact_list(filters=ContactFilters(**kw)).values_list("id", flat=True))

    assert ids(status="lead") == {a.pk}
    assert ids(tag="usa") == {b.pk}
    assert ids(group_id=str(group.pk)) == {b.pk}
    assert ids(source_id=source.pk) == {a.pk}
    assert ids(opted_out=True) == {a.pk}
    assert b.pk in ids(opted_out=False) and a.pk not in ids(opted_out=False)
    assert ids(group_id="not-a-uuid") == set()


def test_group_membership_reports_unknown_ids_and_ignores_repeats(in_acme):
    group = group_create(name="Newsletter")
    a, b = make_contact(), make_contact()
    archived = make_contact()
    contact_archive(contact=archived)
    first = group_add_contacts(group=group, contact_ids=[a.pk, "junk", archived.pk])
    assert first.changed == 1 and set(first.unknown_ids) == {"junk", str(archived.pk)}
    second = group_add_contacts(group=group, contact_ids=[a.pk, b.pk])
    assert (second.changed, second.unchanged) == (1, 1)
    removed = group_remove_contacts(group=group, contact_ids=[a.pk])
    assert removed.changed == 1
    assert list(GroupMember.objects.filter(group=group).values_list("contact_id", flat=True)) == [
        b.pk
    ]


def test_group_names_are_unique_whatever_the_case(in_acme):
    group_create(name="VIP")
    with pytest.raises(Conflict):
        group_create(name="vip")


def test_bulk_actions_tag_and_archive(in_acme):
    a, b = make_contact(), make_contact()
    assert contact_bulk_action(action="add_tag", contact_ids=[a.pk, b.pk], tag="promo") == 2
    a.refresh_from_db()
    assert a.tags == ["promo"]
    assert contact_bulk_action(action="archive", contact_ids=[a.pk]) == 1
    assert not contact_list().filter(pk=a.pk).exists()


def test_notes_emit_note_added(in_acme):
    contact = make_contact()
    note = note_add(contact=contact, body="Called, wants a demo", author_email="alice@acme.test")
    event = Event.objects.get(type="contact.note_added")
    assert event.data["contact_id"] == str(contact.pk)
    assert event.data["note"]["id"] == str(note.pk)
    with pytest.raises(ValidationFailed):
        note_add(contact=contact, body="   ")


def test_contacts_are_isolated_between_workspaces(in_acme, globex):
    from django.db import connection

    contact = make_contact()
    connection.set_tenant(globex)
    with pytest.raises(NotFound):
        contact_get(contact_id=contact.pk)


def _forget_cached_counts() -> None:
    from apps.api.redis import redis_client

    client = redis_client()
    for key in client.scan_iter("contacts:count:*"):
        client.delete(key)


@pytest.fixture
def empty_cache():
    """The cached counts a test leaves behind would be read by the next test's lists."""
    _forget_cached_counts()
    yield _forget_cached_counts
    _forget_cached_counts()


def test_large_list_counts_are_cached_briefly_and_small_ones_stay_exact(
    in_acme, monkeypatch, empty_cache
):
    forget_cached_counts = empty_cache
    make_contact(), make_contact()
    assert contact_list().count() == 2
    make_contact()
    assert contact_list().count() == 3  # below the threshold: exact
    monkeypatch.setattr(Contact.objects.model.objects._queryset_class, "CACHED_COUNT_FROM", 3)
    assert contact_list().count() == 3
    make_contact()
    assert contact_list().count() == 3  # cached
    assert Contact.objects.filter(archived_at=None).count() == 4  # plain querysets are exact
    forget_cached_counts()
    assert contact_list().count() == 4


def test_searched_counts_are_cached_from_a_lower_total_than_plain_lists(
    in_acme, monkeypatch, empty_cache
):
    queryset_class = Contact.objects.model.objects._queryset_class
    monkeypatch.setattr(queryset_class, "SEARCHED_CACHED_COUNT_FROM", 2)
    make_contact(first_name="Meera"), make_contact(first_name="Meera")
    assert contact_list(filters=ContactFilters(search="meera")).count() == 2
    assert contact_list().count() == 2
    make_contact(first_name="Meera")
    assert contact_list(filters=ContactFilters(search="meera")).count() == 2  # cached
    sorted_by_name = ContactFilters(search="meera", sort="first_name")
    assert contact_list(filters=sorted_by_name).count() == 3  # first count of this list
    assert contact_list().count() == 3  # below CACHED_COUNT_FROM: exact


def test_searches_sort_newest_first_without_the_created_index(in_acme):
    first = make_contact(first_name="Searchable")
    second = make_contact(first_name="Searchable")
    found = contact_list(filters=ContactFilters(search="searchable"))
    assert list(found.values_list("id", flat=True)) == [second.pk, first.pk]
    # The sort key is an expression, so the planner cannot walk contact_live_created.
    assert 'ORDER BY ("contacts_contact"."created_at" +' in str(found.query)


@pytest.fixture
def small_search_window(monkeypatch):
    from apps.api.redis import redis_client

    monkeypatch.setattr(Contact.objects.model.objects._queryset_class, "SEARCH_WINDOW", 4)
    # Window edges are cached per workspace: no edge from an earlier test's rows.
    redis_client().delete(*[f"contacts:window-edge:acme:{side}" for side in ("newest", "oldest")])


def _ids(rows):
    return [row.pk for row in rows]


def test_a_common_term_is_paged_from_the_newest_contacts_alone(in_acme, small_search_window):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    old_match = make_contact(first_name="Anurag Old")
    make_contact(first_name="Zoe")
    newer = [make_contact(first_name=f"Anurag {n}") for n in range(4)]
    found = contact_list(filters=ContactFilters(search="anurag"))
    with CaptureQueriesContext(connection) as queries:
        page = found[0:2]
    assert _ids(page) == [newer[3].pk, newer[2].pk]
    selects = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 2  # the window's edge, then the page inside it
    assert '"contacts_contact"."created_at" >=' in selects[1]
    # A slice the window cannot fill comes from the full search, older matches included.
    assert _ids(found[2:5]) == [newer[1].pk, newer[0].pk, old_match.pk]
    # The edge is remembered for a few seconds: the next page costs one query.
    with CaptureQueriesContext(connection) as queries:
        assert _ids(contact_list(filters=ContactFilters(search="anurag"))[0:2]) == _ids(page)
    assert len(queries) == 1


def test_the_window_is_walked_rather_than_searched_by_trigrams(in_acme, small_search_window):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    newer = [make_contact(first_name=f"Anurag {n}", last_name="Sharma") for n in range(5)]
    found = contact_list(filters=ContactFilters(search="anurag"))
    with CaptureQueriesContext(connection) as queries:
        assert _ids(found[0:2]) == [newer[4].pk, newer[3].pk]
    window = queries[-1]["sql"]
    assert '"contacts_contact"."created_at" >=' in window
    assert "STRPOS" in window and "LIKE" not in window
    # The full search and its count still use the trigrams.
    assert "LIKE" in str(found.query)


def test_a_stale_window_edge_still_pages_the_newest_matches(in_acme, small_search_window):
    for n in range(5):
        make_contact(first_name=f"Anurag {n}")
    assert len(contact_list(filters=ContactFilters(search="anurag"))[0:2]) == 2  # edge cached
    newest = [make_contact(first_name=f"Anurag new {n}") for n in range(3)]
    page = contact_list(filters=ContactFilters(search="anurag"))[0:3]
    assert _ids(page) == [c.pk for c in reversed(newest)]
    for contact in newest:
        contact_archive(contact=contact)
    page = contact_list(filters=ContactFilters(search="anurag"))[0:2]
    assert [c.first_name for c in page] == ["Anurag 4", "Anurag 3"]


def test_a_rare_term_falls_back_to_the_full_search(in_acme, small_search_window):
    rare = make_contact(first_name="Ximena")
    for n in range(5):
        make_contact(first_name=f"Filler {n}")
    found = contact_list(filters=ContactFilters(search="ximena"))
    assert _ids(found[0:20]) == [rare.pk]


def test_the_window_serves_the_oldest_first_order_too(in_acme, small_search_window):
    first, second = make_contact(first_name="Priya A"), make_contact(first_name="Priya B")
    for n in range(4):
        make_contact(first_name=f"Priya {n}")
    found = contact_list(filters=ContactFilters(search="priya", sort="oldest"))
    assert _ids(found[0:2]) == [first.pk, second.pk]


def test_chaining_a_searched_list_keeps_every_filter(in_acme, small_search_window):
    for n in range(5):
        make_contact(first_name=f"Anurag {n}", status="lead" if n == 0 else "customer")
    found = contact_list(filters=ContactFilters(search="anurag")).filter(status="lead")
    assert [c.first_name for c in found[0:3]] == ["Anurag 0"]


@pytest.mark.parametrize(
    ("term", "narrow"),
    [
        ("+91 97000 12345", True),  # nine digits or more: a handful of numbers
        ("+9197000", False),  # a short prefix may hold a large share of the numbers
        ("9197000123", False),  # without "+" the term is searched as text too
        ("user.777777@", True),  # a whole word no statistics call common
        ("company 1234", True),  # a long rare prefix
        ("company 12", False),  # "12" starts too many numbers for the statistics to know
        ("anurag", False),  # one piece: trigrams, no word to look up
        ("", False),
    ],
)
def test_a_narrow_term_is_one_an_index_leads_straight_to(in_acme, term, narrow):
    from apps.contacts import selectors

    selectors._word_statistics.clear()
    assert selectors.search_is_narrow(term) is narrow


def test_a_narrow_term_skips_the_window_and_runs_one_search(in_acme, small_search_window):
    """A rare term has too few matches among the newest contacts: walking the window first
    would only add a scan before the full search."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    older = make_contact(first_name="Old", email="user.777777@example.test")
    for n in range(5):
        make_contact(first_name=f"Filler {n}")
    newer = make_contact(first_name="New", email="user.777777@example.org")
    contact_list(filters=ContactFilters(search="user.777777@"))  # word statistics read
    with CaptureQueriesContext(connection) as queries:
        found = list(contact_list(filters=ContactFilters(search="user.777777@"))[0:20])
    assert _ids(found) == [newer.pk, older.pk]
    assert len(queries) == 1
    assert '"contacts_contact"."created_at" >=' not in queries[0]["sql"]


def test_a_common_word_is_not_narrow(in_acme, monkeypatch):
    from apps.contacts import selectors

    monkeypatch.setattr(selectors, "_common_words", lambda: {"777777": 0.002})
    assert not selectors.search_is_narrow("user.777777@")
    monkeypatch.setattr(selectors, "_common_words", lambda: {"777777": 0.0005})
    assert selectors.search_is_narrow("user.777777@")


def test_a_term_of_one_piece_reads_no_word_statistics(in_acme):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.contacts import selectors

    selectors._word_statistics.clear()
    with CaptureQueriesContext(connection) as queries:
        assert not selectors.search_is_narrow("anurag")
    assert len(queries) == 0
