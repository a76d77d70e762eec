"""Every event type Lynkist emits (DESIGN.md, "Events"). Apps emit only these."""

EVENT_TYPES = frozenset(
    {
        "contact.created", "contact.updated", "contact.deleted", "contact.note_added",
        "contact.communication_added",
        "campaign.created", "campaign.scheduled", "campaign.started", "campaign.paused",
        "campaign.resumed", "campaign.stopped", "campaign.completed", "campaign.failed",
        "message.sent", "message.delivered", "message.read", "message.failed", "message.received",
        "template.approved", "template.rejected", "template.paused", "template.disabled",
        # Sent only by "send test event" on an endpoint, never broadcast.
        "webhook.test",
    }
)  # fmt: skip

TEST_EVENT_TYPE = "webhook.test"

# What an endpoint can subscribe to: everything that is broadcast.
SUBSCRIBABLE_EVENT_TYPES = EVENT_TYPES - {TEST_EVENT_TYPE}


def event_types_by_resource() -> list[tuple[str, list[str]]]:
    """The subscribable types grouped by resource, for the event picker."""
    groups: dict[str, list[str]] = {}
    for event_type in sorted(SUBSCRIBABLE_EVENT_TYPES):
        groups.setdefault(event_type.split(".", 1)[0], []).append(event_type)
    return sorted(groups.items())
