"""Journeys for templates and media: a marketer builds a template while the WhatsApp-style
preview follows every keystroke, submits it to the demo workspace's sandbox and sees the
sandbox approve it (through the real Celery worker); then uploads an image to the media
library with a progress bar and deletes it after confirming."""

from __future__ import annotations

import io

from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in


def test_a_marketer_builds_a_template_with_a_live_preview(page: Page, stack):
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    log_in(page, "marketer@acme.test")
    page.get_by_role("link", name="Templates", exact=True).click()
    expect(page.locator("#template-rows")).to_contain_text("order_confirmation")
    page.get_by_role("link", name="New template").click()

    page.get_by_label("Name").fill("autumn_offer")
    page.get_by_label("Header", exact=True).select_option("TEXT")
    page.get_by_label("Header text").fill("Autumn at Acme")
    body = page.get_by_label("Body")
    body.press_sequentially("Hi {{1}}, enjoy *{{2}} off* this week.")
    preview = page.locator('[data-preview="body"]')
    expect(preview).to_contain_text("Hi {{1}}, enjoy")
    page.get_by_label("Sample values").fill("Ana\n15%")
    expect(preview).to_have_text("Hi Ana, enjoy 15% off this week.")
    expect(preview.locator("strong")).to_have_text("15% off")
    expect(page.locator('[data-preview="header"]')).to_have_text("Autumn at Acme")
    page.get_by_label("Footer").fill("Reply STOP to opt out")
    expect(page.locator('[data-preview="footer"]')).to_have_text("Reply STOP to opt out")
    page.get_by_label("Button 1").select_option("QUICK_REPLY")
    page.locator('[data-builder="button_0_text"]').fill("Show me")
    expect(page.locator('[data-preview="buttons"]')).to_have_text("Show me")

    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#toasts")).to_contain_text("submitted to WhatsApp for review")
    expect(page.locator(".badge", has_text="Pending")).to_be_visible()

    # The sandbox decides a few seconds later, through the worker.
    for _ in range(20):
        page.wait_for_timeout(1000)
        page.reload()
        if page.locator(".badge", has_text="Approved").count():
            break
    expect(page.locator(".badge", has_text="Approved")).to_be_visible()
    # Every resource the page asked for existed (Chromium's own favicon probe is not one of
    # them: it reports that 404 only as a console line, so those lines are left out below).
    assert not missing
    assert not [
        m
        for m in page.console_messages
        if m.startswith(("error", "pageerror")) and "Failed to load resource" not in m
    ]


def test_a_marketer_uploads_and_deletes_media(page: Page, stack):
    image = io.BytesIO()
    Image.new("RGB", (640, 320), (18, 140, 126)).save(image, format="PNG")
    log_in(page, "marketer@acme.test")
    page.get_by_role("link", name="Media", exact=True).click()

    page.locator("#media-file-input").set_input_files(
        files=[{"name": "banner.png", "mimeType": "image/png", "buffer": image.getvalue()}]
    )
    expect(page.locator("#media-upload-list")).to_contain_text("banner.png uploaded")
    expect(page.locator("#media-upload-list progress")).to_have_attribute("value", "100")
    card = page.locator(".media-card", has_text="banner.png")
    expect(card).to_contain_text("640×320")
    expect(card.locator("img")).to_be_visible()

    page.locator("#media-file-input").set_input_files(
        files=[{"name": "fake.jpg", "mimeType": "image/jpeg", "buffer": b"%PDF-1.4 not a photo"}]
    )
    expect(page.locator("#media-upload-list")).to_contain_text("its content is application/pdf")

    page.reload()
    card = page.locator(".media-card", has_text="banner.png")
    card.get_by_role("button", name="Delete").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Confirm").click()
    expect(page.locator("#toasts")).to_contain_text("“banner.png” deleted")
    expect(page.locator(".media-card", has_text="banner.png")).to_have_count(0)
    # The refused upload's 422 is logged by Chromium as a failed resource; nothing else failed.
    assert not [
        m
        for m in page.console_messages
        if m.startswith(("error", "pageerror")) and "status of 422" not in m
    ]


def test_an_admin_tests_disconnects_and_reconnects_whatsapp(page: Page, stack):
    log_in(page, "admin@acme.test")
    page.get_by_role("link", name="WhatsApp", exact=True).click()
    expect(page.locator(".badge", has_text="Sandbox")).to_be_visible()

    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#connection-result")).to_contain_text("Connection works")
    expect(page.locator("#connection-result")).to_contain_text("Lynkist Sandbox")

    page.get_by_role("button", name="Disconnect").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Confirm").click()
    expect(page.locator("#toasts")).to_contain_text("disconnected")
    expect(page.get_by_text("No active WABA account")).to_be_visible()
    expect(page.get_by_label("Access token")).to_be_visible()

    page.get_by_role("button", name="Use the sandbox").click()
    expect(page.locator("#toasts")).to_contain_text("Sandbox connected")
    assert not [m for m in page.console_messages if m.startswith(("error", "pageerror"))]
