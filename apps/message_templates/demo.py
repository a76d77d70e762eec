"""Demo data for `seed_demo`: a sandbox WhatsApp account and approved templates, made through
the same services as everything else (so they pass the same validation)."""

from __future__ import annotations

from typing import Any

from django_tenants.utils import schema_context

from apps.message_templates.models import MessageTemplate, Status
from apps.message_templates.services import message_template_create, message_template_status_apply
from apps.tenancy.models import Tenant
from apps.whatsapp.selectors import whatsapp_account_active
from apps.whatsapp.services import whatsapp_account_connect_sandbox

DEMO_TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "order_confirmation",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order {{2}} has shipped.",
                "example": {"body_text": [["Anurag", "ORD-1042"]]},
            }
        ],
    },
    {
        "name": "welcome",
        "language": "en_US",
        "category": "MARKETING",
        "components": [
            {"type": "BODY", "text": "Welcome to Acme! We are glad to have you with us."},
            {"type": "FOOTER", "text": "Reply STOP to unsubscribe"},
        ],
    },
    {
        "name": "spring_sale",
        "language": "en_US",
        "category": "MARKETING",
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["demo-banner"]}},
            {
                "type": "BODY",
                "text": "Hi {{1}}, our spring sale starts today: {{2}} off everything.",
                "example": {"body_text": [["Anurag", "20%"]]},
            },
            {"type": "FOOTER", "text": "Reply STOP to unsubscribe"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Show me"}]},
        ],
    },
    {
        "name": "track_order",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Your order {{1}} is on its way. Follow it below.",
                "example": {"body_text": [["ORD-1042"]]},
            },
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Track order",
                        "url": "https://acme.test/track/{{1}}",
                        "example": ["ORD-1042"],
                    }
                ],
            },
        ],
    },
]


def seed_whatsapp_demo(*, tenant: Tenant) -> None:
    """Idempotent: connects the sandbox unless an account exists, and adds missing templates
    already approved (the sandbox would approve them seconds later anyway)."""
    with schema_context(tenant.schema_name):
        if whatsapp_account_active() is None:
            whatsapp_account_connect_sandbox(tenant=tenant, actor=None)
        for spec in DEMO_TEMPLATES:
            if MessageTemplate.objects.filter(
                name=spec["name"], language=spec["language"]
            ).exists():
                continue
            template = message_template_create(**spec)
            message_template_status_apply(template=template, status=Status.APPROVED)
