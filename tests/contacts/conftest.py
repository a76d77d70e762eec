import pytest
from django.db import connection

from apps.contacts.models import Contact


@pytest.fixture
def in_acme(acme):
    """Run the test body inside acme's schema."""
    connection.set_tenant(acme)
    yield acme
    connection.set_schema_to_public()


@pytest.fixture
def in_globex(globex):
    connection.set_tenant(globex)
    yield globex
    connection.set_schema_to_public()


_phone_counter = iter(range(10_000_000))


def unique_phone() -> str:
    # +1 415 555 xxxx style numbers are not all valid; these Indian mobiles are.
    return f"+9198{next(_phone_counter):08d}"


def make_contact(**fields) -> Contact:
    from apps.contacts.services import contact_create

    data = {"first_name": "Test", "phone": unique_phone(), **fields}
    return contact_create(data=data)


def search_plan(queryset) -> str:
    """The EXPLAIN of `queryset` with the search index as the planner's only choice: on a
    test-sized table it prefers other plans, so the test's transaction (rolled back
    afterwards) drops the other partial indexes and turns sequential and plain index scans
    off. A plan that still scans shows the filter is not the indexed expression."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s"
            " AND tablename = 'contacts_contact' AND indexdef LIKE '%%WHERE%%'"
            " AND indexname <> 'contact_search_trgm'",
            [connection.schema_name],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())
