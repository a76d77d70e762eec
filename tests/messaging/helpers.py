"""Builders for Meta-shaped webhook bodies and approved templates."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from apps.message_templates.models import MessageTemplate


def approved_template(name="order_confirmation", language="en_US", components=None, **extra):
    components = components or [
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."},
    ]
    return MessageTemplate.objects.create(
        name=name,
        language=language,
        category=extra.pop("category", "UTILITY"),
        components=components,
        status=extra.pop("status", "APPROVED"),
        meta_id=extra.pop("meta_id", f"meta-{name}-{language}"),
        **extra,
    )


def body_components(*values):
    return [{"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}]


def envelope(phone_number_id, *, statuses=None, messages=None, contacts=None, waba="waba-1"):
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id},
    }
    if statuses is not None:
        value["statuses"] = statuses
    if messages is not None:
        value["messages"] = messages
    if contacts is not None:
        value["contacts"] = contacts
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba, "changes": [{"field": "messages", "value": value}]}],
    }


def status(wamid, name, *, at=None, recipient="919999999999", code=None):
    item = {
        "id": wamid,
        "status": name,
        "timestamp": str(int(at if at is not None else time.time())),
        "recipient_id": recipient,
    }
    if code is not None:
        item["errors"] = [
            {
                "code": code,
                "title": "Message undeliverable",
                "message": "Message undeliverable",
                "error_data": {"details": "The number is not on WhatsApp."},
            }
        ]
    return item


def inbound(wamid, sender, kind="text", *, at=None, **content):
    item = {"from": sender, "id": wamid, "timestamp": str(int(at or time.time())), "type": kind}
    if kind == "text":
        item["text"] = {"body": content.get("body", "hello")}
    else:
        item[kind] = content
    return item


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def dumps(payload) -> bytes:
    return json.dumps(payload).encode()
