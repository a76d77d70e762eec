"""Journey 5: a customer writes on WhatsApp. Meta's webhook (a signed POST of Meta's shape to
the stack's /webhooks/whatsapp, addressed to the demo workspace's sandbox number) is stored,
drained by the real worker and shows up in the marketer's open inbox without a reload; the
marketer replies inside the 24-hour window, and the reply appears in the conversation with the
ticks the sandbox reports for it."""

from __future__ import annotations

import secrets
import urllib.request

from django.conf import settings
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in
from tests.messaging.helpers import dumps, envelope, inbound, sign

# The demo workspace's sandbox account (apps.whatsapp.services.whatsapp_account_connect_sandbox).
PHONE_NUMBER_ID = "sandbox-acme"
CUSTOMER_WA_ID = "919811122233"


def meta_inbound_text(*, wa_id: str, name: str, body: str) -> dict:
    """One inbound text in the shape of Meta's `messages` webhook."""
    return envelope(
        PHONE_NUMBER_ID,
        messages=[inbound("wamid.IN" + secrets.token_hex(16).upper(), wa_id, body=body)],
        contacts=[{"profile": {"name": name}, "wa_id": wa_id}],
    )


def post_to_webhook(stack, payload: dict) -> None:
    """What Meta does: POST the body signed with the app secret (the stack's is the default)."""
    body = dumps(payload)
    secret = stack.env.get("META_APP_SECRET", settings.META_APP_SECRET)
    request = urllib.request.Request(
        f"{stack.base_url}/webhooks/whatsapp",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, secret)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_an_inbound_message_appears_live_and_the_marketer_replies_in_the_window(page: Page, stack):
    log_in(page, "marketer@acme.test")
    page.get_by_role("link", name="Inbox", exact=True).click()
    conversations = page.locator("#conversation-list")
    expect(conversations).not_to_contain_text("Maya Kapoor")

    # The customer writes; the open inbox lists the conversation by itself, unread.
    post_to_webhook(
        stack,
        meta_inbound_text(wa_id=CUSTOMER_WA_ID, name="Maya Kapoor", body="Is my order ready?"),
    )
    row = conversations.locator("tr", has_text="Maya Kapoor")
    expect(row).to_contain_text("Is my order ready?", timeout=30_000)
    expect(row.locator(".badge[title=unread]")).to_have_text("1")

    row.get_by_role("link", name="Maya Kapoor").click()
    expect(page.get_by_role("heading", name="Maya Kapoor")).to_contain_text("+919811122233")
    thread = page.locator("#thread-messages")
    expect(thread.locator(".bubble-inbound")).to_have_count(1)
    expect(thread.locator(".bubble-inbound")).to_contain_text("Is my order ready?")
    # Opening it marks it read.
    expect(conversations.locator("tr", has_text="Maya Kapoor").locator(".badge")).to_have_count(0)

    # A second message while the conversation is open arrives in the thread without a reload.
    post_to_webhook(
        stack,
        meta_inbound_text(wa_id=CUSTOMER_WA_ID, name="Maya Kapoor", body="Order B-1002"),
    )
    expect(thread.locator(".bubble-inbound").last).to_contain_text("Order B-1002", timeout=30_000)

    # The window is open (she wrote just now): a free-form reply is allowed.
    composer = page.locator("#composer")
    expect(composer).to_contain_text("Free-form replies are allowed until")
    composer.get_by_label("Reply").fill("Yes, it is ready for pickup today.")
    composer.get_by_role("button", name="Send").click()
    reply = page.locator("#thread-messages .bubble-outbound").last
    expect(reply).to_contain_text("Yes, it is ready for pickup today.")
    # The sandbox reports sent, delivered and read within seconds; the thread follows.
    expect(reply.locator("[title=read]")).to_have_text("✓✓ read", timeout=30_000)
    expect(page.locator("#conversation-list tr", has_text="Maya Kapoor")).to_contain_text(
        "Yes, it is ready for pickup today.", timeout=15_000
    )
    assert not [m for m in page.console_messages if m.startswith(("error", "pageerror"))]
