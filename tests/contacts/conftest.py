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
