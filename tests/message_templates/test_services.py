from __future__ import annotations

import pytest
from django.db import connection

from apps.core.errors import Conflict, ValidationFailed
from apps.message_templates.models import MessageTemplate, Status
from apps.message_templates.selectors import message_template_get, message_template_list
from apps.message_templates.services import (
    message_template_create,
    message_template_delete,
    message_template_meta_status_update,
    message_template_sandbox_review,
    message_template_status_apply,
    message_template_sync,
)
from apps.webhooks.models import Event
from apps.whatsapp.graph import GraphError
from apps.whatsapp.services import NoActiveWaba

WABA = "102290129340398"
BODY = [
    {
        "type": "body",
        "text": "Hi {{1}}, your order {{2}} has shipped.",
        "example": {"body_text": [["Ana", "A-1"]]},
    }
]


def create(name="order_confirmation", **kwargs) -> MessageTemplate:
    values = {"name": name, "language": "en_US", "category": "utility", "components": BODY}
    values.update(kwargs)
    return message_template_create(**values)


def event_types() -> list[str]:
    return list(Event.objects.order_by("created_at").values_list("type", flat=True))


def test_create_submits_to_whatsapp_and_keeps_it_pending(cloud_account, fake_graph):
    template = create()

    assert template.status == Status.PENDING
    assert template.category == "UTILITY"
    assert template.components[0]["type"] == "BODY"  # normalised to Meta's spelling
    (remote,) = fake_graph.templates[WABA]
    assert remote["id"] == template.meta_id
    assert remote["name"] == "order_confirmation"


def test_an_invalid_template_is_never_submitted(cloud_account, fake_graph):
    with pytest.raises(ValidationFailed):
        create(name="Bad Name")
    assert fake_graph.counts["templates_create"] == 0


def test_a_refused_submission_leaves_nothing(cloud_account, fake_graph):
    fake_graph.config.fail_next.append({"status": 400, "code": 100})
    with pytest.raises(GraphError):
        create()
    assert not MessageTemplate.objects.exists()


def test_a_name_and_language_exist_once(cloud_account, fake_graph):
    create()
    with pytest.raises(Conflict):
        create()
    create(language="pt_BR")
    assert MessageTemplate.objects.count() == 2


def test_without_an_account_nothing_can_be_submitted(acme):
    connection.set_tenant(acme)
    with pytest.raises(NoActiveWaba):
        create()


def test_status_changes_emit_their_event_once(cloud_account, fake_graph):
    template = create()

    assert message_template_status_apply(template=template, status="APPROVED") is True
    assert message_template_status_apply(template=template, status="APPROVED") is False
    message_template_status_apply(template=template, status="PAUSED")
    message_template_status_apply(template=template, status="DISABLED")

    assert event_types() == ["template.approved", "template.paused", "template.disabled"]
    event = Event.objects.filter(type="template.approved").get()
    assert event.data["name"] == "order_confirmation" and event.data["id"] == str(template.id)


def test_a_rejection_keeps_its_reason(cloud_account, fake_graph):
    template = create()
    message_template_status_apply(template=template, status="REJECTED", reason="INVALID_FORMAT")
    template.refresh_from_db()
    assert template.rejection_reason == "INVALID_FORMAT"
    assert event_types() == ["template.rejected"]


def test_metas_status_webhook_updates_the_template(cloud_account, fake_graph):
    template = create()

    updated = message_template_meta_status_update(
        value={
            "event": "APPROVED",
            "message_template_id": int(template.meta_id),
            "message_template_name": "order_confirmation",
            "message_template_language": "en_US",
            "reason": "NONE",
        }
    )

    assert updated == template
    template.refresh_from_db()
    assert template.status == Status.APPROVED
    assert (
        message_template_meta_status_update(value={"event": "APPROVED", "message_template_id": 1})
        is None
    )


def test_delete_removes_it_from_whatsapp_then_here(cloud_account, fake_graph):
    template = create()
    message_template_delete(template=template)
    assert fake_graph.templates[WABA] == []
    assert not MessageTemplate.objects.exists()


def test_delete_of_a_template_whatsapp_no_longer_has_still_deletes_it_here(
    cloud_account, fake_graph
):
    template = create()
    fake_graph.templates[WABA].clear()
    message_template_delete(template=template)
    assert not MessageTemplate.objects.exists()


def test_delete_keeps_the_template_when_whatsapp_fails(cloud_account, fake_graph):
    template = create()
    fake_graph.config.fail_next.extend([{"status": 500}] * 3)
    with pytest.raises(GraphError):
        message_template_delete(template=template)
    assert MessageTemplate.objects.filter(pk=template.pk).exists()


def _campaign_using(template, status="COMPLETED"):
    from apps.campaigns.models import Campaign

    return Campaign.objects.create(name="Diwali sale", template=template, status=status)


def test_delete_is_refused_before_whatsapp_for_a_template_campaigns_used(cloud_account, fake_graph):
    template = create()
    _campaign_using(template)
    with pytest.raises(Conflict) as refused:
        message_template_delete(template=template)
    assert refused.value.details == {"campaigns": ["Diwali sale"]}
    assert [t["name"] for t in fake_graph.templates[WABA]] == [template.name]
    assert MessageTemplate.objects.filter(pk=template.pk).exists()


def test_sync_keeps_a_template_deleted_in_whatsapp_that_campaigns_used(cloud_account, fake_graph):
    used, unused = create(name="used"), create(name="unused")
    _campaign_using(used)
    fake_graph.templates[WABA].clear()
    result = message_template_sync()
    assert result.removed == 2
    assert not MessageTemplate.objects.filter(pk=unused.pk).exists()
    used.refresh_from_db()
    assert used.status == Status.DISABLED
    assert "Deleted in WhatsApp" in used.rejection_reason


def test_sync_adds_updates_and_removes(cloud_account, fake_graph):
    kept = create(name="kept")
    gone = create(name="gone")
    remote = fake_graph.templates[WABA]
    remote[:] = [t for t in remote if t["name"] != "gone"]
    remote[0]["status"] = "APPROVED"
    remote[0]["quality_score"] = {"score": "GREEN"}
    remote.append(
        {
            "id": "999",
            "name": "made_in_manager",
            "language": "en",
            "category": "MARKETING",
            "status": "REJECTED",
            "rejected_reason": "TAG_CONTENT_MISMATCH",
            "components": [{"type": "BODY", "text": "Hello"}],
        }
    )

    result = message_template_sync()

    assert (result.created, result.updated, result.removed, result.status_changes) == (1, 1, 1, 1)
    kept.refresh_from_db()
    assert kept.status == Status.APPROVED and kept.quality_rating == "GREEN"
    assert not MessageTemplate.objects.filter(pk=gone.pk).exists()
    new = MessageTemplate.objects.get(name="made_in_manager")
    assert new.rejection_reason == "TAG_CONTENT_MISMATCH"
    assert sorted(event_types()) == ["template.approved", "template.rejected"]
    assert message_template_sync().status_changes == 0  # nothing new: no event twice


def test_the_sandbox_approves_after_review_and_rejects_reject_names(
    sandbox_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        good = create(name="spring_sale")
    bad = create(name="reject_me")
    assert good.meta_id.startswith("sbx") and good.status == Status.PENDING
    assert len(callbacks) == 1  # the review task, a few seconds later

    message_template_sandbox_review(template_id=str(good.id))
    message_template_sandbox_review(template_id=str(bad.id))
    message_template_sandbox_review(template_id=str(good.id))  # runs once

    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.status == Status.APPROVED
    assert bad.status == Status.REJECTED and "reject" in bad.rejection_reason
    assert sorted(event_types()) == ["template.approved", "template.rejected"]


def test_selectors_filter_and_find_by_either_id(cloud_account, fake_graph):
    a = create(name="alpha")
    create(name="beta", category="MARKETING")
    message_template_status_apply(template=a, status="APPROVED")

    assert [t.name for t in message_template_list(status="approved")] == ["alpha"]
    assert [t.name for t in message_template_list(category="MARKETING")] == ["beta"]
    assert [t.name for t in message_template_list(name="ET")] == ["beta"]
    assert message_template_get(identifier=str(a.id)) == a
    assert message_template_get(identifier=a.meta_id) == a


def test_a_sandbox_sync_decides_templates_past_their_review_time(sandbox_account):
    from datetime import timedelta

    from django.utils import timezone

    approved = create(name="spring_sale")
    rejected = create(name="reject_this")
    fresh = create(name="just_sent")
    MessageTemplate.objects.filter(pk__in=[approved.pk, rejected.pk]).update(
        updated_at=timezone.now() - timedelta(seconds=10)
    )

    result = message_template_sync()

    assert (result.removed, result.status_changes) == (0, 2)
    statuses = dict(MessageTemplate.objects.values_list("name", "status"))
    assert statuses == {
        "spring_sale": Status.APPROVED,
        "reject_this": Status.REJECTED,
        "just_sent": Status.PENDING,
    }
    assert fresh.meta_id.startswith("sbx")


def test_the_review_task_runs_in_the_schema_it_is_given(sandbox_account, acme):
    from apps.message_templates.tasks import message_template_sandbox_review_task

    template = create(name="spring_sale")
    message_template_sandbox_review_task(acme.schema_name, template_id=str(template.id))
    template.refresh_from_db()
    assert template.status == Status.APPROVED
