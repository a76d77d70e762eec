"""Campaign fixtures: an approved template with two body variables, a group of contacts,
and the fake Graph API with a connected cloud account (from tests/whatsapp/fixtures.py)."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.contacts.models import Contact, Group, GroupMember, Source
from apps.message_templates.models import MessageTemplate
from tests.whatsapp.fixtures import (  # noqa: F401  (fixtures)
    cloud_account,
    fake_graph,
    fake_graph_server,
    sandbox_account,
)

ORDER_BODY = "Hi {{1}}, your order {{2}} has shipped."
MAPPING = {
    "body": {
        "1": {"field": "first_name", "fallback": "there"},
        "2": {"field": "custom_fields.order_id"},
    }
}


@pytest.fixture
def tenant(acme):
    connection.set_tenant(acme)
    return acme


@pytest.fixture
def template(tenant):
    return MessageTemplate.objects.create(
        name="order_confirmation",
        language="en_US",
        category="UTILITY",
        status="APPROVED",
        meta_id="1234567890",
        components=[
            {"type": "BODY", "text": ORDER_BODY, "example": {"body_text": [["Ana", "A-1"]]}}
        ],
    )


@pytest.fixture
def welcome(tenant):
    return MessageTemplate.objects.create(
        name="welcome",
        language="en_US",
        category="MARKETING",
        status="APPROVED",
        components=[{"type": "BODY", "text": "Welcome to Acme!"}],
    )


def make_contacts(n: int, *, group: Group | None = None, source=None, start: int = 0, **fields):
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                first_name=f"Person{i}",
                phone=f"+1555{i:07d}",
                custom_fields={"order_id": f"A-{i}"},
                source=source,
                **fields,
            )
            for i in range(start, start + n)
        ]
    )
    if group is not None:
        GroupMember.objects.bulk_create([GroupMember(group=group, contact=c) for c in contacts])
    return contacts


@pytest.fixture
def group(tenant):
    return Group.objects.create(name="Customers")


@pytest.fixture
def source(tenant):
    return Source.objects.create(name="Shopify import", kind="import")


@pytest.fixture
def customers(group):
    return make_contacts(5, group=group)
