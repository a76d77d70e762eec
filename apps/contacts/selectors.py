"""Reads: contact lists with search and filters, groups and sources with their counts.

Every list shows live (not archived) contacts only. Search is served by the search index on the
search document, its words and its trigrams (migrations 0004 and 0005), and by the pattern
index on phone (0002), all partial on live rows, so it does not scan the table.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Lookup,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan

from apps.contacts.events import CONTACT_DATA_FIELDS, contact_data_row
from apps.contacts.models import (
    WORD_SEPARATORS,
    Contact,
    Group,
    GroupMember,
    ImportJob,
    Note,
    SearchWords,
    Source,
)
from apps.core.errors import NotFound

SORTS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "first_name": ("first_name", "id"),
    "-first_name": ("-first_name", "-id"),
    "last_name": ("last_name", "id"),
    "-last_name": ("-last_name", "-id"),
    "company": ("company", "id"),
    "-company": ("-company", "-id"),
    "updated": ("-updated_at", "-id"),
}
_PHONE_TERM = re.compile(r"^\+?[\d\s().\-]+$")


def _as_uuid(value: Any) -> UUID | None:
    if value in (None, ""):
        return None
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        return None


@dataclass
class ContactFilters:
    search: str = ""
    status: str = ""
    tag: str = ""
    group_id: Any = None
    source_id: Any = None
    # None: everyone; True: only opted out; False: only reachable.
    opted_out: bool | None = None
    sort: str = "newest"


def _collapsed(term: str | None) -> str:
    """The term as every search reads it: whitespace runs made one space, ends trimmed."""
    return " ".join((term or "").split())


def search_q(term: str, *, bounded: bool = False) -> Q:
    """The term (whitespace collapsed, any case) as a substring of the contact's search
    document: first and last name, e-mail and company, so "first last" matches the two names;
    a term that looks like a phone number also matches phones by prefix.

    Whole-term matching keeps every search selective for the search index: a word-by-word
    AND would let one common word ("company") turn the search into a scan of the table.

    `bounded` is for a list already limited to a few thousand rows by an index (the search
    window): the term is then never offered to the trigrams, which the planner believes cheap
    for any term ("anurag sharma": 20 ms of trigrams for a page that walking the window reads
    in 4 ms). The same contacts match either way."""
    term = _collapsed(term)
    if not term:
        return Q()
    by_text = _substring_q(term.lower(), trigrams=not bounded)
    if _PHONE_TERM.match(term):
        digits = re.sub(r"\D", "", term)
        if digits:
            by_phone = Q(phone__startswith="+" + digits)
            return by_phone if term.startswith("+") else by_phone | by_text
    return by_text


class _MatchesWords(Lookup):
    """`words @@ 'word' & 'prefix':*`, the query taken verbatim (to_tsquery would parse and
    normalise it, and the words in the index are not normalised)."""

    lookup_name = "matches_words"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} @@ ({rhs})::tsquery", (*lhs_params, *rhs_params)


@dataclass(frozen=True)
class _WordCondition:
    """What a term tells about one word of every document that contains it: the word is
    `lexeme`, or starts with it (`prefix`)."""

    lexeme: str
    prefix: bool

    @property
    def tsquery(self) -> str:
        # Separators include every character tsquery syntax gives a meaning to (quotes,
        # backslash, colon, &, |, !, parentheses), so a word is safe between quotes.
        return f"'{self.lexeme}'" + (":*" if self.prefix else "")


# A word longer than any field cannot be in a document (and tsquery refuses long lexemes).
_LONGEST_WORD = 255


def _word_conditions(term: str) -> list[_WordCondition]:
    """Each piece of the term between two separators is a whole word of the document, and the
    last piece starts a word. The first piece only ends a word, which the index cannot look up
    (that took a second word column, of the reversed document: it doubled what the index costs
    every inserted contact, ~25 µs, for the few terms it served alone). A term without a
    separator is one piece: nothing to say about words."""
    first, *rest = re.split(WORD_SEPARATORS, term)
    if not rest:
        return []
    *middle, last = rest
    conditions = [_WordCondition(word, prefix=False) for word in middle]
    if last:
        conditions.append(_WordCondition(last, prefix=True))
    return [c for c in conditions if len(c.lexeme) <= _LONGEST_WORD]


# A word condition held by more than this share of live contacts is left out of a search:
# GIN gathers every row a prefix condition matches before intersecting (about 2 ms per 10,000
# rows) and each candidate row costs a heap visit, while a rare word alone narrows a million
# contacts to a handful. When every condition is this common, the trigrams serve the term.
COMMON_WORD_SHARE = 0.01
# How long a process keeps a workspace's word statistics: ANALYZE (autovacuum) refreshes them
# rarely, and a stale share only picks a slower condition, never other results.
WORD_STATISTICS_SECONDS = 300
_word_statistics: dict[str, tuple[float, dict[str, float]]] = {}


def _common_words() -> dict[str, float]:
    """The share of live contacts holding each of the most common words, from the statistics
    ANALYZE keeps on the search index's word column (empty until the first ANALYZE: every word
    then counts as rare, which is right for a small table)."""
    schema = connection.schema_name
    cached = _word_statistics.get(schema)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    shares: dict[str, float] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs"
            " FROM pg_stats s JOIN pg_attribute a"
            " ON a.attrelid = to_regclass('contact_search_trgm') AND a.attname = s.attname"
            " WHERE s.schemaname = current_schema() AND s.tablename = 'contact_search_trgm'"
            " AND a.attnum = 1 AND s.most_common_elems IS NOT NULL"
        )
        for words, frequencies in cursor.fetchall():
            # zip() drops the minimum and maximum frequencies appended after the words'.
            shares.update(zip(words, frequencies, strict=False))
    _word_statistics[schema] = (time.monotonic() + WORD_STATISTICS_SECONDS, shares)
    return shares


def _share(condition: _WordCondition, common: dict[str, float]) -> float:
    if not condition.prefix:
        return common.get(condition.lexeme, 0.0)
    return min(1.0, sum(share for w, share in common.items() if w.startswith(condition.lexeme)))


def _rare_word_conditions(term: str) -> list[_WordCondition]:
    """The term's word conditions that at most COMMON_WORD_SHARE of live contacts meet."""
    conditions = _word_conditions(term)
    if conditions:
        common = _common_words()
        conditions = [c for c in conditions if _share(c, common) <= COMMON_WORD_SHARE]
    return conditions


# A search is narrow when an index leads straight to its few matches: a phone prefix of at
# least this many digits (most numbers have 10 to 12 digits with the country code, so nine
# leave at most about a thousand), or a word held by under NARROW_WORD_SHARE of live
# contacts. A prefix shorter than NARROW_PREFIX_LETTERS is never narrow: the statistics only
# know the most common words, so they would count "1" (every number starting with 1) as rare.
NARROW_PHONE_DIGITS = 9
NARROW_WORD_SHARE = 0.001
NARROW_PREFIX_LETTERS = 4


def search_is_narrow(term: str) -> bool:
    """Whether the term's matches are few enough to sort them all. The search window (see
    ContactQuerySet.with_search_window) pays off for common terms, whose newest matches sit
    among the newest contacts; a narrow term has a handful of matches there, so the window
    would read its 10,000 rows (~3 ms of PostgreSQL) and then run the full search anyway."""
    term = _collapsed(term)
    if term.startswith("+") and _PHONE_TERM.match(term):
        return len(re.sub(r"\D", "", term)) >= NARROW_PHONE_DIGITS
    conditions = _rare_word_conditions(term.lower())
    if not conditions:
        return False  # one piece, or only common words: no index leads to a few rows
    common = _common_words()
    return any(
        _share(c, common) < NARROW_WORD_SHARE
        and (not c.prefix or len(c.lexeme) >= NARROW_PREFIX_LETTERS)
        for c in conditions
    )


def _substring_q(term: str, *, trigrams: bool = True) -> Q:
    """`term` (lowercase) as a substring of the search document.

    A term of one piece is found by its trigrams (LIKE), unless `trigrams` is False. A term
    with separators is found by the conditions it sets on the document's words (see
    `_word_conditions`), keeping the rare ones: for "company 12345" or "user.777777@" every
    trigram is shared by a large part of the contacts, so the trigram index reads most of
    itself (50-150 ms at a million contacts) to find 20 rows, and a word leads straight to
    them. The substring test itself is then STRPOS rather than LIKE, which the trigram column
    cannot serve: GIN would otherwise advance its trigram lists to every candidate the words
    give, and the planner, whose estimates for trigrams are far too low, would read the
    trigrams instead of the words. Either way the substring test decides, so both find
    exactly the same contacts."""
    conditions = _rare_word_conditions(term)
    if not conditions and trigrams:
        return Q(search_document__contains=term)
    substring = Q(GreaterThan(StrIndex("search_document", Value(term)), 0))
    if not conditions:
        return substring
    tsquery = " & ".join(c.tsquery for c in conditions)
    return substring & Q(_MatchesWords(SearchWords(F("search_document")), tsquery))


def contact_list(*, filters: ContactFilters | None = None) -> QuerySet[Contact]:
    filters = filters or ContactFilters()
    contacts = Contact.objects.filter(archived_at__isnull=True)
    if filters.status:
        contacts = contacts.filter(status=filters.status)
    if filters.tag:
        contacts = contacts.filter(tags__contains=[filters.tag])
    if filters.group_id not in (None, ""):
        group_id = _as_uuid(filters.group_id)
        if group_id is None:
            return contacts.none()
        contacts = contacts.filter(
            Exists(GroupMember.objects.filter(group_id=group_id, contact_id=OuterRef("pk")))
        )
    if filters.source_id not in (None, ""):
        source_id = _as_uuid(filters.source_id)
        if source_id is None:
            return contacts.none()
        contacts = contacts.filter(source_id=source_id)
    if filters.opted_out is True:
        contacts = contacts.filter(opted_out_at__isnull=False)
    elif filters.opted_out is False:
        contacts = contacts.filter(opted_out_at__isnull=True)
    ordering = SORTS.get(filters.sort, SORTS["newest"])
    unsearched, contacts = contacts, contacts.filter(search_q(filters.search))
    if filters.search and filters.sort in ("newest", "oldest"):
        # Hide the created_at index from a searched query: walking it newest-first and
        # filtering is what the planner picks when it over-estimates matches (trigram
        # estimates are rough), and for a rare term it reads the whole table (2 s at 1M rows).
        # The bitmap of the trigram index plus a top-N sort is bounded by the matches; the
        # search window (see `with_search_window`) serves the common terms.
        shifted = ExpressionWrapper(F("created_at") + timedelta(0), output_field=DateTimeField())
        newest = filters.sort == "newest"
        searched = contacts.order_by(
            shifted.desc() if newest else shifted.asc(), "-id" if newest else "id"
        ).with_cached_count(searched=True)
        if search_is_narrow(filters.search):
            return searched
        window = unsearched.filter(search_q(filters.search, bounded=True)).order_by(*ordering)
        return searched.with_search_window(window, newest=newest)
    return contacts.order_by(*ordering).with_cached_count(searched=bool(filters.search))


def contact_page(
    *, filters: ContactFilters | None, page: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of `contact_list` as the public API shows contacts (`contact_data`), and the
    list's total: the same rows, order and count as slicing and counting the list."""
    rows, total = contact_list(filters=filters).page(
        offset=(page - 1) * limit, limit=limit, columns=CONTACT_DATA_FIELDS
    )
    return [contact_data_row(row) for row in rows], total


def contact_get(*, contact_id: Any) -> Contact:
    """A live contact of the current workspace; NotFound otherwise (including malformed ids
    and archived contacts, which the API documents as gone)."""
    pk = _as_uuid(contact_id)
    contact = Contact.objects.filter(pk=pk, archived_at__isnull=True).first() if pk else None
    if contact is None:
        raise NotFound("Contact not found.")
    return contact


def contact_groups(*, contact: Contact) -> QuerySet[Group]:
    return Group.objects.filter(members__contact=contact).order_by("name")


def contact_notes(*, contact: Contact) -> QuerySet[Note]:
    return Note.objects.filter(contact=contact).order_by("-created_at", "-id")


def contact_communications(*, contact: Contact) -> list[Any]:
    """The messages exchanged with this contact, newest first (the messaging app's record)."""
    # Imported here because messaging builds on contacts, not the other way round.
    from apps.messaging.selectors import contact_messages

    return contact_messages(contact=contact)


def contact_statuses() -> list[str]:
    return list(
        Contact.objects.filter(archived_at__isnull=True)
        .exclude(status__isnull=True)
        .exclude(status="")
        .values_list("status", flat=True)
        .distinct()
        .order_by("status")[:50]
    )


def contact_counts() -> dict[str, int]:
    live = Contact.objects.filter(archived_at__isnull=True)
    return live.aggregate(
        total=Count("id"),
        opted_out=Count("id", filter=Q(opted_out_at__isnull=False)),
    )


def group_list(*, search: str = "") -> QuerySet[Group]:
    groups = Group.objects.annotate(
        contact_count=Count("members", filter=Q(members__contact__archived_at__isnull=True))
    )
    if search:
        groups = groups.filter(name__icontains=search.strip())
    return groups.order_by("name", "id")


def group_get(*, group_id: Any) -> Group:
    pk = _as_uuid(group_id)
    group = group_list().filter(pk=pk).first() if pk else None
    if group is None:
        raise NotFound("Group not found.")
    return group


def group_contacts(*, group: Group) -> QuerySet[Contact]:
    return contact_list(filters=ContactFilters(group_id=group.pk))


def source_list() -> QuerySet[Source]:
    return Source.objects.annotate(
        contact_count=Count("contacts", filter=Q(contacts__archived_at__isnull=True))
    ).order_by("-created_at", "id")


def source_get(*, source_id: Any) -> Source:
    pk = _as_uuid(source_id)
    source = source_list().filter(pk=pk).first() if pk else None
    if source is None:
        raise NotFound("Source not found.")
    return source


def import_job_list() -> QuerySet[ImportJob]:
    return ImportJob.objects.select_related("group", "source").order_by("-created_at")


def import_job_get(*, job_id: Any) -> ImportJob:
    pk = _as_uuid(job_id)
    job = import_job_list().filter(pk=pk).first() if pk else None
    if job is None:
        raise NotFound("Import not found.")
    return job
