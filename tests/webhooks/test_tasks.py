"""The periodic tasks: which workspaces have webhook work, and running it per workspace."""

from __future__ import annotations

from django.core.cache import cache
from django_tenants.utils import schema_context

from apps.webhooks.models import Delivery, Event
from apps.webhooks.services import emit_event
from apps.webhooks.services.deliveries import events_prune
from apps.webhooks.tasks import (
    QUEUED_KEY,
    _schemas_with_work,
    webhooks_dispatch_all,
    webhooks_process_tenant,
)


def test_the_dispatcher_finds_only_workspaces_with_work(acme, globex, make_endpoint, receiver):
    assert _schemas_with_work([acme.schema_name, globex.schema_name]) == []
    with schema_context(globex.schema_name):
        emit_event(event_type="contact.created", data={"id": "c1"})
    assert _schemas_with_work([acme.schema_name, globex.schema_name]) == [globex.schema_name]


def test_processing_a_workspace_delivers_its_events(acme, make_endpoint, receiver):
    make_endpoint(receiver.url("/ok"))
    with schema_context(acme.schema_name):
        emit_event(event_type="campaign.completed", data={"id": "k1"})
    cache.set(QUEUED_KEY.format(schema=acme.schema_name), 1)

    stats = webhooks_process_tenant.apply(args=[acme.schema_name]).get()

    assert stats["succeeded"] == 1
    assert [r.json["type"] for r in receiver.requests_to("/ok")] == ["campaign.completed"]
    # The next run may be queued as soon as this one has started.
    assert cache.get(QUEUED_KEY.format(schema=acme.schema_name)) is None


def test_events_older_than_30_days_are_pruned_with_their_deliveries(acme, make_endpoint, receiver):
    from datetime import timedelta

    from django.utils import timezone

    from apps.webhooks.services.deliveries import events_fan_out

    make_endpoint(receiver.url("/ok"))
    with schema_context(acme.schema_name):
        old = emit_event(event_type="contact.created", data={"id": "old"})
        recent = emit_event(event_type="contact.created", data={"id": "new"})
        Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
        events_fan_out()
        assert events_prune() == 1
        assert list(Event.objects.values_list("id", flat=True)) == [recent.id]
        assert Delivery.objects.filter(event_id=old.id).count() == 0


def test_the_dispatcher_queues_a_workspace_once_until_its_task_starts(acme, globex):
    cache.delete(QUEUED_KEY.format(schema=acme.schema_name))
    with schema_context(acme.schema_name):
        emit_event(event_type="contact.created", data={"id": "c1"})
    assert webhooks_dispatch_all() == 1
    assert webhooks_dispatch_all() == 0
    assert cache.get(QUEUED_KEY.format(schema=acme.schema_name)) == 1
    cache.delete(QUEUED_KEY.format(schema=acme.schema_name))
