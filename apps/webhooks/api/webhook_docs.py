"""The webhook payloads in the public OpenAPI document (OpenAPI 3.1 `webhooks`): one entry per
event type, with the envelope, the signature headers and an example of its `data`.

Added by a postprocessing hook (listed in SPECTACULAR_SETTINGS) rather than drf-spectacular's
WEBHOOKS setting, which wants one import path per entry in the settings.
"""

from __future__ import annotations

from typing import Any

from apps.webhooks.events import EVENT_TYPES

CONTACT = {
    "id": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
    "first_name": "Anurag",
    "last_name": "Sharma",
    "phone": "+919999999999",
    "email": "anurag@acme.test",
    "company": "Acme Corp",
    "job_title": "Founder",
    "status": "lead",
    "tags": ["india"],
    "custom_fields": {"plan": "starter"},
    "source_id": None,
    "created_at": "2026-05-12T08:00:00Z",
    "updated_at": "2026-05-25T11:14:33Z",
}
CAMPAIGN = {
    "id": "3e5c1a9d-2b7f-4c8e-9a1d-6f0b2c4e8a13",
    "name": "May sale",
    "status": "RUNNING",
    "template_id": "7b1e4c2a-9d3f-4a6b-8c5e-1f2a3b4c5d6e",
    "scheduled_at": None,
    "started_at": "2026-05-12T08:00:00Z",
    "completed_at": None,
    "total_recipients": 1200,
    "stats": {
        "total": 1200,
        "sent": 800,
        "delivered": 760,
        "read": 410,
        "failed": 12,
        "pending": 388,
    },
}
# The shapes apps.messaging.events.message_data / communication_data emit.
MESSAGE = {
    "id": "c2d4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e4f",
    "message_id": "wamid.HBgLOTE5OTk5OTk5OTk5FQIAERgSQzE2",
    "wamid": "wamid.HBgLOTE5OTk5OTk5OTk5FQIAERgSQzE2",
    "direction": "outbound",
    "to": "+919999999999",
    "type": "template",
    "status": "delivered",
    "template_name": "order_confirmation",
    "language": "en_US",
    "body": "Hi Anurag, your order ORD-1042 has shipped.",
    "contact_id": CONTACT["id"],
    "campaign_id": CAMPAIGN["id"],
    "error": None,
    "created_at": "2026-05-12T08:05:06Z",
}
INBOUND = {
    **{k: v for k, v in MESSAGE.items() if k != "to"},
    "message_id": "wamid.HBgLOTE5OTk5OTk5OTk5FQIAEhgUM0EwQjU2",
    "wamid": "wamid.HBgLOTE5OTk5OTk5OTk5FQIAEhgUM0EwQjU2",
    "direction": "inbound",
    "from": "+919999999999",
    "type": "text",
    "status": "received",
    "template_name": None,
    "language": None,
    "body": "Where is my order?",
    "campaign_id": None,
}
COMMUNICATION = {
    "contact_id": CONTACT["id"],
    "channel": "whatsapp",
    "direction": "outbound",
    "message_id": MESSAGE["id"],
    "wamid": MESSAGE["wamid"],
    "type": "template",
    "summary": MESSAGE["body"],
    "created_at": MESSAGE["created_at"],
}
TEMPLATE = {
    "id": "7b1e4c2a-9d3f-4a6b-8c5e-1f2a3b4c5d6e",
    "meta_id": "1234567890",
    "name": "order_confirmation",
    "language": "en_US",
    "category": "UTILITY",
    "status": "APPROVED",
    "rejection_reason": "",
}

# Per event type: when it is sent, and an example of its `data`.
EVENT_DOCS: dict[str, tuple[str, dict[str, Any]]] = {
    "contact.created": ("A contact was created (API, page, import).", CONTACT),
    "contact.updated": (
        "A contact changed; `changed` names the fields.",
        {**CONTACT, "changed": ["status"]},
    ),
    "contact.deleted": ("A contact was deleted.", CONTACT),
    "contact.note_added": (
        "A note was attached to a contact.",
        {
            "contact_id": CONTACT["id"],
            "note": {
                "id": "0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6",
                "body": "Prefers WhatsApp.",
                "author": "alice@acme.test",
                "created_at": "2026-05-12T08:00:00Z",
            },
        },
    ),
    "contact.communication_added": (
        "A communication (a message in or out) was recorded on a contact's history; "
        "`message_id` is Lynkist's message id, `wamid` WhatsApp's.",
        COMMUNICATION,
    ),
    "campaign.created": ("A campaign was created.", {**CAMPAIGN, "status": "DRAFT"}),
    "campaign.scheduled": (
        "A campaign was scheduled.",
        {**CAMPAIGN, "status": "SCHEDULED", "scheduled_at": "2026-05-13T09:00:00Z"},
    ),
    "campaign.started": ("A campaign started sending.", CAMPAIGN),
    "campaign.paused": ("A campaign was paused.", {**CAMPAIGN, "status": "PAUSED"}),
    "campaign.resumed": ("A paused campaign was resumed.", CAMPAIGN),
    "campaign.stopped": ("A campaign was stopped for good.", {**CAMPAIGN, "status": "STOPPED"}),
    "campaign.completed": (
        "Every recipient of a campaign reached a final state.",
        {**CAMPAIGN, "status": "COMPLETED"},
    ),
    "campaign.failed": (
        "A campaign failed as a whole (e.g. its WhatsApp account was disconnected).",
        {
            **CAMPAIGN,
            "status": "FAILED",
            "completed_at": "2026-05-12T08:20:00Z",
            "failure": {"code": "190", "reason": "The WhatsApp access token no longer works."},
        },
    ),
    "message.sent": ("Lynkist handed the message to WhatsApp.", {**MESSAGE, "status": "sent"}),
    "message.delivered": ("WhatsApp delivered the message to the recipient's device.", MESSAGE),
    "message.read": ("The recipient opened the message.", {**MESSAGE, "status": "read"}),
    "message.failed": (
        "The message failed; `error` carries Meta's numeric code (or ours, `lk_...`).",
        {
            **MESSAGE,
            "status": "failed",
            "error": {
                "code": 131026,
                "title": "Message undeliverable",
                "details": "Message undeliverable.",
            },
        },
    ),
    "message.received": (
        "A contact sent a message to the workspace's number.",
        INBOUND,
    ),
    "template.approved": ("Meta approved a message template.", TEMPLATE),
    "template.rejected": (
        "Meta rejected a message template.",
        {**TEMPLATE, "status": "REJECTED", "rejection_reason": "INVALID_FORMAT"},
    ),
    "template.paused": ("Meta paused a template (low quality).", {**TEMPLATE, "status": "PAUSED"}),
    "template.disabled": ("Meta disabled a template.", {**TEMPLATE, "status": "DISABLED"}),
    "webhook.test": (
        "Sent only by “send test event” on one endpoint.",
        {
            "endpoint_id": "5d0f2c1e-8a4b-4e57-9a8e-2f1b7c3d9e10",
            "message": "This is a test event sent from Lynkist.",
        },
    ),
}

SIGNATURE_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The event id (`evt_...`), the same on every retry: drop duplicates by it.",
        "schema": {"type": "string"},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Unix seconds when this attempt was signed; refuse stale ones (5 min).",
        "schema": {"type": "string"},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": 'Space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, '
        "one per valid secret (two for 24 h after a rotation). Standard Webhooks.",
        "schema": {"type": "string"},
    },
]

ENVELOPE = {
    "type": "object",
    "description": "Every delivery's body: the event envelope.",
    "properties": {
        "id": {"type": "string", "description": "Event id, `evt_` + 24 hex."},
        "type": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "tenant": {"type": "string", "description": "The workspace's slug."},
        "data": {"type": "object", "description": "The object the event is about."},
    },
    "required": ["id", "type", "created_at", "tenant", "data"],
}


def _webhook(event_type: str) -> dict[str, Any]:
    description, data = EVENT_DOCS[event_type]
    return {
        "post": {
            "operationId": f"webhook_{event_type.replace('.', '_')}",
            "summary": event_type,
            "description": description
            + " Sent as a POST with `User-Agent: Lynkist-Webhooks/1`; answer 2xx within 15 s."
            " Other answers, redirects and timeouts are retried after 5 s, 5 min, 30 min, 2 h,"
            " 5 h, 10 h, 14 h, 20 h and 24 h (with jitter, later if you send Retry-After);"
            " 410 disables the endpoint.",
            "tags": ["Webhook events"],
            "parameters": SIGNATURE_HEADERS,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "allOf": [
                                {"$ref": "#/components/schemas/WebhookEvent"},
                                {"properties": {"type": {"const": event_type}}},
                            ]
                        },
                        "example": {
                            "id": "evt_4f1c2a9b8d7e6f5a4b3c2d1e",
                            "type": event_type,
                            "created_at": "2026-05-12T08:05:00Z",
                            "tenant": "acme",
                            "data": data,
                        },
                    }
                },
            },
            "responses": {
                "2XX": {"description": "Received; not sent again."},
                "410": {"description": "Gone: Lynkist disables the endpoint."},
            },
        }
    }


def add_webhooks(result, generator, request, public):
    """drf-spectacular postprocessing hook: the `webhooks` section, one entry per event type."""
    result.setdefault("components", {}).setdefault("schemas", {})["WebhookEvent"] = ENVELOPE
    result["webhooks"] = {event_type: _webhook(event_type) for event_type in sorted(EVENT_TYPES)}
    return result
