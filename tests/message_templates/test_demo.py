from django.db import connection

from apps.message_templates.demo import seed_whatsapp_demo
from apps.message_templates.models import MessageTemplate, Status
from apps.message_templates.rendering import template_placeholders
from apps.whatsapp.selectors import whatsapp_account_active


def test_the_demo_has_a_sandbox_account_and_approved_templates(acme):
    seed_whatsapp_demo(tenant=acme)
    seed_whatsapp_demo(tenant=acme)  # idempotent

    connection.set_tenant(acme)
    assert whatsapp_account_active().provider == "sandbox"
    templates = {t.name: t for t in MessageTemplate.objects.all()}
    assert len(templates) == 4
    assert all(t.status == Status.APPROVED and t.language == "en_US" for t in templates.values())
    order = templates["order_confirmation"]
    assert order.component("BODY")["text"] == "Hi {{1}}, your order {{2}} has shipped."
    assert template_placeholders(templates["welcome"].components) == {}
    assert templates["spring_sale"].component("HEADER")["format"] == "IMAGE"
    assert templates["track_order"].component("BUTTONS")["buttons"][0]["type"] == "URL"
