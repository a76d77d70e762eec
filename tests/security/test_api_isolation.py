"""Every public API operation that takes an object id, called by acme's key with globex's
ids, is a 404 and changes nothing in globex. Operations are read from the URL conf; an id kind
without a factory below fails the test, so a new endpoint cannot slip past the matrix."""

from __future__ import annotations

import re

import pytest
from django.apps import apps as django_apps
from django.urls import URLPattern, URLResolver
from django_tenants.utils import schema_context

from apps.api.urls import public_patterns
from apps.api.views import PublicApiView


def _operations(patterns, prefix: str = "/api/v1/public/"):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _operations(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            view_class = getattr(entry.callback, "view_class", None)
            route = prefix + str(entry.pattern)
            if view_class is None or not issubclass(view_class, PublicApiView) or "<" not in route:
                continue
            for method in view_class.required_scopes:
                yield pytest.param(method, route, id=f"{method} {route}")


OPERATIONS = list(_operations(public_patterns))
SNAPSHOT_APPS = ["contacts", "media", "message_templates", "webhooks", "messaging", "campaigns"]


def _globex_objects() -> dict[str, str]:
    """One object of every kind the public API addresses by id, created in globex."""
    from apps.campaigns.models import Campaign
    from apps.contacts.models import Contact, Group, GroupMember, Source
    from apps.media.models import Media
    from apps.message_templates.models import MessageTemplate
    from apps.messaging.models import Message
    from apps.webhooks.models import Delivery, Endpoint, Event

    source = Source.objects.create(name="Globex source")
    group = Group.objects.create(name="Globex group")
    contact = Contact.objects.create(first_name="Gina", phone="+14155550199", source=source)
    GroupMember.objects.create(group=group, contact=contact)
    media = Media.objects.create(
        name="logo.png", kind="image", mime_type="image/png", size=10, sha256="0" * 64,
        file="globex/logo.png",
    )  # fmt: skip
    template = MessageTemplate.objects.create(
        name="globex_hello", language="en_US", category="MARKETING", status="APPROVED",
        components=[{"type": "BODY", "text": "Hello"}],
    )  # fmt: skip
    event = Event.objects.create(type="contact.created", data={"id": str(contact.pk)})
    endpoint = Endpoint.objects.create(url="https://hooks.globex.test/in", secret="whsec_x")
    delivery = Delivery.objects.create(endpoint=endpoint, event=event)
    campaign = Campaign.objects.create(name="Globex launch", template=template)
    message = Message.objects.create(
        direction="outbound", phone=contact.phone, contact=contact, template_name=template.name,
        wamid="wamid.globex-1",
    )  # fmt: skip
    return {
        "campaign_id": str(campaign.pk), "message_id": str(message.pk),
        "error_code": "131026",  # not an object: any code, under globex's campaign
        "contact_id": str(contact.pk), "group_id": str(group.pk), "source_id": str(source.pk),
        "media_id": str(media.pk), "template_id": str(template.pk), "event_id": event.pk,
        "endpoint_id": str(endpoint.pk), "delivery_id": str(delivery.pk),
    }  # fmt: skip


def _snapshot() -> dict[str, list]:
    rows = {}
    for label in SNAPSHOT_APPS:
        if not django_apps.is_installed(f"apps.{label}"):
            continue
        for model in django_apps.get_app_config(label).get_models():
            rows[model._meta.label] = list(model.objects.order_by("pk").values())
    return rows


@pytest.mark.parametrize(("method", "route"), OPERATIONS)
def test_another_workspaces_ids_are_404_and_nothing_changes(
    api_client, acme, globex, method, route
):
    with schema_context(globex.schema_name):
        ids = _globex_objects()
        before = _snapshot()
    client = api_client(acme)

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in ids:
            pytest.fail(f"no globex factory for <{name}>: add one to _globex_objects")
        return ids[name]

    path = re.sub(r"<(?:\w+:)?(\w+)>", fill, route)
    response = client.generic(method, path, data="{}", content_type="application/json")

    assert response.status_code == 404, (response.status_code, response.content[:300])
    assert response.json()["error"]["code"] == "not_found"
    with schema_context(globex.schema_name):
        assert _snapshot() == before
