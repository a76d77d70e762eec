"""Search terms with separators in them are found through the words of the search document
(see `apps.contacts.selectors._substring_q`); whichever way a term is found, the contacts are
exactly those whose search document contains it, as the plain substring test finds them."""

import pytest
from django.db import connection
from django.utils import timezone

from apps.contacts import selectors
from apps.contacts.models import Contact
from apps.contacts.selectors import ContactFilters, contact_list
from tests.contacts.conftest import search_plan

PEOPLE = [
    ("Priya", "Iyer", "priya.iyer@acme.test", "Acme Corp"),
    ("Supriya", "Iyerson", "supriya@iyer.example", "Iyer & Sons"),
    ("Priyanka", "Iyengar", None, "Tata-Iyer Ltd."),
    ("Seán", "O'Brien", "sean.obrien@example.ie", "O'Brien's Pub"),
    ("Jean-Luc", "Picard", "jl.picard@starfleet.test", "USS Enterprise"),
    ("Élodie", "Dupré", "élodie@exemple.fr", "Café Crème"),
    ("Jürgen", "Müller-Lüdenscheidt", "j.mueller@example.de", "Straße & Söhne GmbH"),
    ("Ayşe", "Çalışkan", "ayse@örnek.tr", "İstanbul Ticaret"),
    ("太郎", "山田", "taro@例え.jp", "東京 株式会社"),
    ("Zoë", "😀 Smile", "zoe+tag@emoji.test", "100% Fun_Co"),
    ("A\\B", "C:D", "x'y@q.test", "(a|b) & !c"),
    ("User", "Seven", "user.777777@example.test", "Company 12345"),
    ("User", "Seventy", "user.7777770@example.test", "Company 123456"),
    ("Mary\u00a0Ann", "Lee", "mary--ann@lee.test", None),
    ("Nobody", None, None, None),
]

TERMS = [
    # whole words, word prefixes and suffixes, words inside words
    "priya iyer",
    "riya iye",
    "ya iyer",
    "priya iy",
    "a iyer",
    "iyer.",
    ".iyer",
    "iyer@",
    "@iyer",
    "iyer &",
    "& sons",
    "-iyer ltd.",
    "priya.iyer@acme",
    "iyer@acme.test acme",
    "test acme corp",
    "acme.test acme",
    "iyerson supriya",
    # punctuation, mixed case
    "o'brien",
    "O'BRIEN'S",
    "'brien",
    "o'",
    "brien's pub",
    "Jean-Luc",
    "an-lu",
    "-luc",
    "jean-",
    "JL.Picard@StarFleet",
    "mary--ann",
    "mary-ann",
    "--",
    "...",
    "@",
    # unicode
    "élodie dupré",
    "ÉLODIE DUPRÉ",
    "lodie@exem",
    "café crème",
    "müller-lüd",
    "ller-lüdensch",
    "straße &",
    "& söhne",
    "ayşe@örnek",
    "çalışkan ayse",
    "ayse@örnek.tr istanbul",
    "東京 株式",
    "山田 taro",
    "太郎 山田",
    "😀 smile",
    "zoë 😀",
    "mary\u00a0ann",
    "mary ann",
    # characters with a meaning to LIKE, tsquery or regular expressions
    "zoe+tag",
    "+tag@",
    "100% fun",
    "fun_co",
    "n_c",
    "a\\b",
    "a\\b c:d",
    "c:d x'y",
    "x'y@",
    "(a|b)",
    "| b) & !",
    "!c",
    "a:*",
    "b' | 'c",
    # numbers in words
    "user.777777@",
    "user.77777",
    "777777@example",
    ".7777770@",
    "company 12345",
    "company 1234",
    "ompany 12345",
    "12345 company",
    # nothing to find
    "priya zzz",
    "zzz.",
    "x" * 300 + " y",
]


def _substring_matches(term: str) -> set:
    needle = " ".join(term.split()).lower()
    live = Contact.objects.filter(archived_at__isnull=True)
    return set(live.filter(search_document__contains=needle).values_list("id", flat=True))


def _found(term: str) -> set:
    return set(contact_list(filters=ContactFilters(search=term)).values_list("id", flat=True))


@pytest.fixture
def people(in_acme):
    created = Contact.objects.bulk_create(
        Contact(first_name=first, last_name=last, email=email, company=company)
        for first, last, email, company in PEOPLE
    )
    archived = Contact.objects.create(
        first_name="Priya", last_name="Iyer", company="Acme Corp", archived_at=timezone.now()
    )
    return created, archived


@pytest.fixture
def fresh_word_statistics():
    """Statistics are cached per workspace in the process: no test sees another's."""
    selectors._word_statistics.clear()
    yield
    selectors._word_statistics.clear()


def _analyze() -> None:
    # ANALYZE samples the rows this test's transaction wrote, and rolls back with it.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")


def test_the_tricky_terms_find_something(people):
    """The terms below are worth comparing: most of them find someone."""
    assert sum(1 for term in TERMS if _substring_matches(term)) >= len(TERMS) - 12


@pytest.mark.parametrize("term", TERMS)
def test_a_term_finds_exactly_the_contacts_containing_it(people, fresh_word_statistics, term):
    assert _found(term) == _substring_matches(term)


def test_the_same_contacts_when_statistics_call_most_words_common(people, fresh_word_statistics):
    # Among 15 live contacts, every word the statistics list is held by more than 1% of them.
    _analyze()
    assert selectors._common_words(), "ANALYZE should have left word statistics"
    for term in TERMS:
        assert _found(term) == _substring_matches(term), term


def test_the_same_contacts_when_some_words_are_common(people, fresh_word_statistics, monkeypatch):
    monkeypatch.setattr(selectors, "COMMON_WORD_SHARE", 0.15)
    _analyze()
    for term in TERMS:
        assert _found(term) == _substring_matches(term), term


def test_archived_contacts_are_never_found(people):
    _, archived = people
    assert archived.pk not in _found("priya iyer")
    assert archived.pk not in _found("acme corp")


def test_a_term_with_separators_is_searched_by_its_words(in_acme, fresh_word_statistics):
    sql = str(contact_list(filters=ContactFilters(search="User.777777@Exam")).query)
    assert "STRPOS" in sql and "LIKE" not in sql
    # "user" may end a longer word; "777777" is a whole word; "exam" starts one.
    assert "@@ ('777777' & 'exam':*)::tsquery" in sql


def test_a_term_of_one_piece_is_searched_by_its_trigrams(in_acme, fresh_word_statistics):
    sql = str(contact_list(filters=ContactFilters(search="Iyer")).query)
    assert "LIKE" in sql and "@@" not in sql


def test_common_words_are_left_out_and_rare_ones_kept(in_acme, fresh_word_statistics, monkeypatch):
    Contact.objects.bulk_create(
        Contact(first_name=f"Buyer {n}", company=f"Big Company {n}") for n in range(20)
    )
    monkeypatch.setattr(selectors, "COMMON_WORD_SHARE", 0.2)
    _analyze()
    sql = str(contact_list(filters=ContactFilters(search="big company 12")).query)
    # Every contact has the word "company"; one in twenty has a word starting with "12".
    assert "@@ ('12':*)::tsquery" in sql
    assert _found("big company 12") == _substring_matches("big company 12")


def test_a_term_of_common_words_only_falls_back_to_trigrams(
    in_acme, fresh_word_statistics, monkeypatch
):
    Contact.objects.bulk_create(
        Contact(first_name="Priya", last_name="Iyer", company=f"Company {n}") for n in range(20)
    )
    monkeypatch.setattr(selectors, "COMMON_WORD_SHARE", 0.2)
    _analyze()
    sql = str(contact_list(filters=ContactFilters(search="priya iyer")).query)
    assert "LIKE" in sql and "@@" not in sql
    assert len(_found("priya iyer")) == 20


def test_word_search_is_answered_by_the_word_columns_of_the_search_index(
    in_acme, fresh_word_statistics
):
    """As the trigram test in test_services: the plan shows whether the conditions are
    exactly the indexed expressions."""
    Contact.objects.create(first_name="User", email="user.777777@example.test")
    query = contact_list(filters=ContactFilters(search="user.777777@")).values("id")
    plan = search_plan(query)
    assert "Bitmap Index Scan on contact_search_trgm" in plan, plan
    index_condition = next(line for line in plan.splitlines() if "Index Cond" in line)
    # EXPLAIN shows the tsquery as a literal, its own quotes doubled.
    assert "@@ '''777777'''::tsquery" in index_condition, plan
    assert query.count() == 1
