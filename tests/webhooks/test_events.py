import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from apps.webhooks.models import Event
from apps.webhooks.services import emit_event, event_envelope


def test_an_event_is_written_in_the_current_workspace(acme, globex):
    with schema_context(acme.schema_name):
        event = emit_event(event_type="contact.created", data={"id": "c1"})
        assert event.id.startswith("evt_")
    with schema_context(globex.schema_name):
        assert not Event.objects.filter(pk=event.pk).exists()


def test_a_rolled_back_change_leaves_no_event(acme):
    with schema_context(acme.schema_name):
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            emit_event(event_type="contact.created", data={"id": "c2"})
            1 / 0  # noqa: B018 - the change fails after the event was written
        assert not Event.objects.filter(data__id="c2").exists()


def test_unknown_event_types_are_refused(acme):
    with schema_context(acme.schema_name), pytest.raises(ValueError):
        emit_event(event_type="contact.exploded", data={})


def test_events_are_never_written_to_the_public_schema(db):
    with pytest.raises(RuntimeError):
        emit_event(event_type="contact.created", data={})


def test_the_envelope_has_the_documented_shape(acme):
    with schema_context(acme.schema_name):
        event = emit_event(event_type="contact.updated", data={"id": "c3"})
    envelope = event_envelope(event=event, tenant_slug="acme")
    assert set(envelope) == {"id", "type", "created_at", "tenant", "data"}
    assert envelope["created_at"].endswith("Z")


def test_events_emitted_together_follow_the_same_rules_and_keep_their_order(acme):
    from apps.webhooks.services import emit_events

    with pytest.raises(RuntimeError):  # no workspace on the connection
        emit_events(items=[("contact.created", {"id": "c1"})])
    with schema_context(acme.schema_name):
        with pytest.raises(ValueError):
            emit_events(items=[("contact.created", {"id": "c1"}), ("no.such_event", {})])
        assert not Event.objects.exists()
        emit_events(items=[("contact.created", {"id": f"c{n}"}) for n in range(3)])
        rows = list(Event.objects.order_by("created_at").values_list("id", "data"))
    assert [data for _, data in rows] == [{"id": "c0"}, {"id": "c1"}, {"id": "c2"}]
    assert all(event_id.startswith("evt_") for event_id, _ in rows)
