"""The events messaging emits, and the shape of their `data`.

`message.sent|delivered|read|failed` fire once each, when that status becomes the message's
status (a late or duplicate status fires nothing); `message.received` for each inbound
message; `contact.communication_added` whenever a message is added to a contact's history.
"""

from __future__ import annotations

from typing import Any

MESSAGE_SENT = "message.sent"
MESSAGE_DELIVERED = "message.delivered"
MESSAGE_READ = "message.read"
MESSAGE_FAILED = "message.failed"
MESSAGE_RECEIVED = "message.received"
CONTACT_COMMUNICATION_ADDED = "contact.communication_added"

STATUS_EVENTS = {
    "sent": MESSAGE_SENT,
    "delivered": MESSAGE_DELIVERED,
    "read": MESSAGE_READ,
    "failed": MESSAGE_FAILED,
}


def iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def message_error(message) -> dict[str, Any] | None:
    if not message.error_code:
        return None
    code: int | str = message.error_code
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    return {"code": code, "title": message.error_title, "details": message.error_detail}


def message_data(message) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "message_id": message.public_id,
        "wamid": message.wamid,
        "direction": message.direction,
        "to" if message.direction == "outbound" else "from": message.phone,
        "type": message.kind,
        "status": message.status,
        "template_name": message.template_name or None,
        "language": message.template_language or None,
        "body": message.body or None,
        "contact_id": str(message.contact_id) if message.contact_id else None,
        "campaign_id": str(message.campaign_id) if message.campaign_id else None,
        "error": message_error(message),
        "created_at": iso(message.created_at),
    }


def communication_data(message) -> dict[str, Any]:
    return {
        "contact_id": str(message.contact_id),
        "channel": "whatsapp",
        "direction": message.direction,
        "message_id": str(message.id),
        "wamid": message.wamid,
        "type": message.kind,
        "summary": (message.body or message.template_name or message.kind)[:200],
        "created_at": iso(message.created_at),
    }
