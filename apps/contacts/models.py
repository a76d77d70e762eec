"""Contacts, the groups they belong to, where they came from, notes, and CSV imports.

Every table lives in the workspace's schema. A contact is archived (soft-deleted), never
removed, so messages and campaign recipients that point at it keep their history.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import models
from django.db.models.functions import Concat, Lower, Upper

from apps.api.redis import redis_client

LIVE = models.Q(archived_at__isnull=True)

# What splits the search document into words: ASCII characters other than letters and digits.
# Every other character, non-ASCII letters and spaces included, belongs to a word. The same
# pattern reads the same in Python's `re` and PostgreSQL's regular expressions, so a search
# term splits exactly as the documents it is a part of.
WORD_SEPARATORS = r"[^0-9A-Za-z\u0080-\U0010FFFF]+"


class SearchWords(models.Func):
    """The words of a text as a tsvector of verbatim lexemes: no parser, no dictionary, so a
    word is only what WORD_SEPARATORS leaves between separators. Migration 0005 indexes it over
    the search document; a query matches the index only with this exact expression."""

    template = (
        "array_to_tsvector(array_remove("
        f"regexp_split_to_array(%(expressions)s, '{WORD_SEPARATORS}'), ''))"
    )
    output_field = SearchVectorField()


class SourceKind(models.TextChoices):
    IMPORT = "import", "CSV import"
    API = "api", "API"
    FORM = "form", "Form"
    MANUAL = "manual", "Added by hand"


class Source(models.Model):
    """Where contacts came from: an import, the API, a form."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=SourceKind.choices, default=SourceKind.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return self.name


class Group(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Upper("name"), name="contact_group_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


_UNREAD = object()


class ContactQuerySet(models.QuerySet):
    """Contacts, with an opt-in cached `count()` for large lists (see `with_cached_count`)."""

    # Counts at or above this are cached; smaller ones are cheap and always exact.
    CACHED_COUNT_FROM = 10_000
    # The same for searched lists: counting a search visits every match in the table to test
    # the term again, ~20-30 ms for the 2,631 matches of "priya iyer" among a million contacts,
    # where counting 10,000 contacts of a plain list reads a few index pages.
    SEARCHED_CACHED_COUNT_FROM = 1_000
    CACHED_COUNT_SECONDS = 10

    def with_cached_count(self, *, searched: bool = False) -> ContactQuerySet:
        """`count()` of this list is cached for a few seconds once it reaches
        CACHED_COUNT_FROM (SEARCHED_CACHED_COUNT_FROM for a search): an exact count of a
        million rows costs ~200 ms, paid by every page of the API and the dashboard. A large
        total may then lag behind by those seconds."""
        clone = self._chain()
        clone._cached_count_from = (
            self.SEARCHED_CACHED_COUNT_FROM if searched else self.CACHED_COUNT_FROM
        )
        return clone

    # A searched page is first looked for among this many newest (or oldest) live contacts.
    SEARCH_WINDOW = 10_000

    def with_search_window(self, in_index_order: ContactQuerySet, *, newest: bool):
        """Slices of this searched list are first answered from the SEARCH_WINDOW newest (or
        oldest) live contacts, walking the created_at index; the full search runs only when
        the window holds fewer matches than the slice needs.

        Why: a searched list is ordered without the created_at index, since walking it for a
        rare term reads the whole table, so a common term ("anurag", 5% of a million) had to
        sort all its matches to show 20. The window answers common terms from a few hundred
        rows and costs a rare term a bounded scan before the full search. The answer is the
        same: every match outside the window is older (newer) than all rows in it.

        `in_index_order` is this list's filters ordered by the created_at index. Any further
        chaining drops the window (it would not carry the new filters)."""
        clone = self._chain()
        clone._search_window = (in_index_order, newest)
        return clone

    def _clone(self):
        clone = super()._clone()
        clone._cached_count_from = getattr(self, "_cached_count_from", None)
        return clone

    def __getitem__(self, k):
        window = getattr(self, "_search_window", None)
        if window is not None and isinstance(k, slice) and self._result_cache is None:
            rows = self._slice_from_window(k, *window)
            if rows is not None:
                return rows
        return super().__getitem__(k)

    def _slice_from_window(self, k: slice, in_index_order, newest: bool) -> list | None:
        start, stop = k.start or 0, k.stop
        if k.step is not None or stop is None or not 0 <= start < stop <= self.SEARCH_WINDOW:
            return None
        edge = self._window_edge(newest)
        if edge is None:
            return None  # fewer live contacts than the window: the full search is small too
        inside = {"created_at__gte" if newest else "created_at__lte": edge}
        rows = list(in_index_order.filter(**inside)[start:stop])
        return rows if len(rows) == stop - start else None

    @staticmethod
    def _window_edge_key(newest: bool) -> str:
        from django.db import connection

        return f"contacts:window-edge:{connection.schema_name}:{'newest' if newest else 'oldest'}"

    def _window_edge(self, newest: bool, cached: Any = _UNREAD):
        """The creation time of the SEARCH_WINDOW-th newest (oldest) live contact, cached for
        CACHED_COUNT_SECONDS: finding it walks that many index entries, on every searched
        page. A stale edge is harmless: the window is still every live contact on one side
        of a moment, so its matches are still the newest (oldest) ones, and a window that
        holds too few matches falls back to the full search. `cached` is the cached value
        (None: none) when the caller has already read it (see `page`)."""
        key = self._window_edge_key(newest)
        # The process's shared client: Django's cache builds a client object (with its table of
        # response callbacks) on every call, which cost a list page more than the round trip.
        if cached is _UNREAD:
            cached = redis_client().get(key)
        if cached is not None:
            return datetime.fromisoformat(cached.decode()) if cached else None
        edge = list(
            self.model.objects.filter(LIVE)
            .order_by(*(("-created_at", "-id") if newest else ("created_at", "id")))
            .values_list("created_at", flat=True)[self.SEARCH_WINDOW - 1 : self.SEARCH_WINDOW]
        )
        redis_client().set(key, edge[0].isoformat() if edge else "", ex=self.CACHED_COUNT_SECONDS)
        return edge[0] if edge else None

    def count(self) -> int:
        cached_from = getattr(self, "_cached_count_from", None)
        if cached_from is None or self._result_cache is not None:
            return super().count()
        try:
            sql, params = self.query.sql_with_params()
        except EmptyResultSet:
            return 0
        key = self._count_key(sql, params)
        return self._count_cached(key, redis_client().get(key), super().count)

    @staticmethod
    def _count_key(sql: str, params) -> str:
        from django.db import connection

        digest = hashlib.sha256(f"{sql}|{tuple(params)}".encode()).hexdigest()[:32]
        return f"contacts:count:{connection.schema_name}:{digest}"

    def _count_cached(self, key: str, cached: bytes | None, count) -> int:
        if cached is not None:
            return int(cached)
        total = count()
        if total >= self._cached_count_from:
            redis_client().set(key, total, ex=self.CACHED_COUNT_SECONDS)
        return total

    # ------------------------------------------------------------------------------------
    # One page of a list as rows, for the public API's list and search (issue #9's load):
    # building and compiling the whole ORM query, then a model instance per row, cost more
    # CPU than PostgreSQL spent answering. Only the WHERE clause, which holds the request's
    # values, is compiled per request; what comes before and after it is the same SQL for
    # every list of the same ordering, taken once from the ORM's own SQL.
    # ------------------------------------------------------------------------------------
    def page(self, *, offset: int, limit: int, columns: Sequence[str]) -> tuple[list, int]:
        """(rows, total): the rows `[offset:offset + limit]` of this list as tuples of
        `columns` (values as `values_list` gives them) and the list's `count()`, exactly as
        slicing and counting would: the search window, cached counts and a first page that is
        not full counted by its length, all answered with one Redis round trip. Lists the
        plain SQL cannot express (joins, annotations, ...) go through the ORM."""

        try:
            plain = self._plain_sql()
        except EmptyResultSet:
            return [], 0
        if plain is None or self._result_cache is not None:
            return self._page_through_orm(offset=offset, limit=limit, columns=columns)
        where, where_params, full_sql, params = plain
        cached_from = getattr(self, "_cached_count_from", None)
        window = getattr(self, "_search_window", None)
        keys = []
        if cached_from is not None:
            keys.append(self._count_key(full_sql, params))
        if window is not None:
            keys.append(self._window_edge_key(window[1]))
        cached = dict(zip(keys, redis_client().mget(keys), strict=True)) if keys else {}

        def count() -> int:
            if cached_from is None:
                return self._fetch_count(where, where_params)
            return self._count_cached(
                keys[0], cached[keys[0]], lambda: self._fetch_count(where, where_params)
            )

        def read() -> list:
            if window is not None:
                in_index_order, newest = window
                rows = self._window_rows(
                    offset, limit, in_index_order, newest, cached[keys[-1]], columns
                )
                if rows is not None:
                    return rows
            return self._fetch_page(plain, offset, limit, columns)

        if offset == 0:
            rows = read()
            return rows, (len(rows) if len(rows) < limit else count())
        # Counted first: a page past the end (any page number is accepted) reads nothing.
        total = count()
        return (read() if offset < total else []), total

    def _page_through_orm(self, *, offset: int, limit: int, columns: Sequence[str]):
        def read() -> list:
            return [
                tuple(getattr(c, name) for name in columns) for c in self[offset : offset + limit]
            ]

        if offset == 0:
            rows = read()
            return rows, (len(rows) if len(rows) < limit else self.count())
        total = self.count()
        return (read() if offset < total else []), total

    def _window_rows(self, offset, limit, in_index_order, newest, cached, columns) -> list | None:
        """`_slice_from_window` for `page`, as rows."""
        start, stop = offset, offset + limit
        if not 0 <= start < stop <= self.SEARCH_WINDOW:
            return None
        edge = self._window_edge(newest, cached)
        if edge is None:
            return None
        inside = in_index_order.filter(**{"created_at__gte" if newest else "created_at__lte": edge})
        plain = inside._plain_sql()
        if plain is None:
            rows = [tuple(getattr(c, n) for n in columns) for c in inside[start:stop]]
        else:
            rows = inside._fetch_page(plain, start, limit, columns)
        return rows if len(rows) == stop - start else None

    # The SQL before the WHERE clause for a list of columns (None: every column, as the
    # ORM selects a model), and the SQL after it per ordering; each the same for every query.
    _select_sqls: ClassVar[dict[Any, str]] = {}
    _order_sqls: ClassVar[dict[Any, tuple[str, tuple]]] = {}

    def _select_sql(self, columns: Sequence[str] | None) -> str:
        from django.db import connection

        key = (self.model, connection.alias, None if columns is None else tuple(columns))
        select = self._select_sqls.get(key)
        if select is None:
            plain = self.model._base_manager.order_by()
            if columns is not None:
                plain = plain.values_list(*columns)
            select = plain.query.get_compiler(connection=connection).as_sql()[0]
            self._select_sqls[key] = select
        return select

    def _plain_sql(self) -> tuple[str, list, str, tuple] | None:
        """(where, where params, SQL, params): this list's WHERE clause, compiled, and the
        whole unsliced query as `query.sql_with_params()` gives it, built around that clause;
        None for a query that is not a filtered, ordered list of this table's rows. Raises
        EmptyResultSet for a list that is empty by construction (`none()`)."""
        from django.db import connection

        query = self.query
        if (
            query.is_sliced
            or query.distinct
            or query.annotations
            or query.extra
            or query.extra_order_by
            or query.select
            or not query.default_cols
            or query.select_related
            or query.combinator
            or query.group_by is not None
            or query.values_select
            or any(query.alias_refcount[a] for a in query.alias_map if a != query.base_table)
        ):
            return None
        compiler = query.get_compiler(connection=connection)
        try:
            where, where_params = compiler.compile(query.where)
        except FullResultSet:
            return None
        order_key = (
            self.model,
            connection.alias,
            tuple(query.order_by),
            query.default_ordering,
            query.standard_ordering,
        )
        head = f"{self._select_sql(None)} WHERE {where}"
        order = self._order_sqls.get(order_key)
        if order is None:
            sql, params = query.sql_with_params()
            if not sql.startswith(head) or tuple(params[: len(where_params)]) != tuple(
                where_params
            ):
                return None  # not the shape this assembly assumes: the ORM answers
            order = (sql[len(head) :], tuple(params[len(where_params) :]))
            self._order_sqls[order_key] = order
        return where, where_params, head + order[0], (*where_params, *order[1])

    def _fetch_count(self, where: str, where_params: list) -> int:
        from django.db import connection

        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT COUNT(*) AS "__count" FROM {table} WHERE {where}',  # noqa: S608
                where_params,
            )
            return cursor.fetchone()[0]

    def _fetch_page(self, plain: tuple, offset: int, limit: int, columns: Sequence[str]) -> list:
        """Rows `[offset:offset + limit]` of the list `_plain_sql` gave, as `columns`."""
        from django.db import connection

        where, _, sql, params = plain
        # The ORM's SQL with the columns asked for: the same WHERE, ORDER BY and LIMIT.
        after_where = sql[len(self._select_sql(None)) + len(" WHERE ") + len(where) :]
        limits = connection.ops.limit_offset_sql(offset, offset + limit)
        with connection.cursor() as cursor:
            cursor.execute(
                f"{self._select_sql(columns)} WHERE {where}{after_where} {limits}", params
            )
            rows = cursor.fetchall()
        converters = [
            (i, converter)
            for i, name in enumerate(columns)
            for converter in self.model._meta.get_field(name).get_db_converters(connection)
        ]
        if not converters:
            return rows
        converted = []
        for row in rows:
            values = list(row)
            for i, convert in converters:
                values[i] = convert(values[i], None, connection)
            converted.append(tuple(values))
        return converted


class Contact(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    first_name = models.CharField(max_length=255)
    last_name = models.CharField(max_length=255, null=True, blank=True)
    # E.164, so at most 16 characters; 20 is the documented limit.
    phone = models.CharField(max_length=20, null=True, blank=True)
    email = models.CharField(max_length=254, null=True, blank=True)
    company = models.CharField(max_length=255, null=True, blank=True)
    job_title = models.CharField(max_length=255, null=True, blank=True)
    status = models.CharField(max_length=64, null=True, blank=True)
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    groups = models.ManyToManyField(Group, through="GroupMember", related_name="contacts")
    # What free-text search matches: the name, e-mail and company in one lowercase text, so
    # one search index (its words and trigrams) answers a search ("priya iyer" included)
    # instead of one per field.
    search_document = models.GeneratedField(
        expression=Lower(
            Concat(
                "first_name",
                models.Value(" "),
                "last_name",
                models.Value(" "),
                "email",
                models.Value(" "),
                "company",
                output_field=models.TextField(),
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
    )
    opted_out_at = models.DateTimeField(null=True, blank=True)
    opt_out_reason = models.CharField(max_length=255, blank=True, default="")
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Null until the contact is first changed, as the API documents.
    updated_at = models.DateTimeField(null=True, blank=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The phone is a WhatsApp identity: one live contact per number.
            models.UniqueConstraint(
                fields=["phone"],
                condition=LIVE & models.Q(phone__isnull=False),
                name="contact_live_phone_unique",
            ),
        ]
        # The search (words and trigrams, migration 0005), phone-prefix and custom-fields
        # indexes are expression indexes with operator classes, created in migrations (Django
        # wraps OpClass expressions in parentheses PostgreSQL refuses).
        indexes = [
            # Listing and paging live contacts, newest first.
            models.Index(
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="contact_live_created",
                condition=LIVE,
            ),
            GinIndex(fields=["tags"], name="contact_tags_gin", condition=LIVE),
            models.Index(fields=["status"], name="contact_status", condition=LIVE),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_opted_out(self) -> bool:
        return self.opted_out_at is not None


class GroupMember(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "contact"], name="group_member_unique")
        ]
        indexes = [models.Index(fields=["contact"], name="group_member_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.group_id}"


class Note(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="notes")
    body = models.TextField()
    # Users live in the public schema; the note keeps who wrote it by e-mail.
    author_email = models.CharField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.body[:60]


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class OnExisting(models.TextChoices):
    UPDATE = "update", "Update the existing contact"
    SKIP = "skip", "Skip the row"


class ImportJob(models.Model):
    """One CSV import. Its counters are updated in the same transaction as each batch of
    rows, so whatever happens to the worker, the report matches what was written."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500)
    file_size = models.BigIntegerField(default=0)
    delimiter = models.CharField(max_length=1, default=",")
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, blank=True)
    on_existing = models.CharField(
        max_length=8, choices=OnExisting.choices, default=OnExisting.UPDATE
    )
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL)
    # Progress: data rows read (every outcome) and bytes of the file read, for the bar.
    rows_processed = models.BigIntegerField(default=0)
    bytes_processed = models.BigIntegerField(default=0)
    created_count = models.BigIntegerField(default=0)
    updated_count = models.BigIntegerField(default=0)
    skipped_count = models.BigIntegerField(default=0)
    failed_count = models.BigIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_by_email = models.CharField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import of {self.file_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.COMPLETED, ImportStatus.FAILED)


class ImportFailure(models.Model):
    """A row that could not be imported, with the reason; the failed-rows CSV is built from
    these, and they are written in the same transaction as their batch."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="failures")
    row_number = models.BigIntegerField()
    values = models.JSONField()
    reason = models.TextField()

    class Meta:
        ordering = ["row_number"]
        indexes = [models.Index(fields=["job", "row_number"], name="import_failure_row")]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason}"
