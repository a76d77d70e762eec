"""Campaign journeys, each against a whole Lynkist (gunicorn, Celery worker and beat) whose demo
workspace sends through the sandbox WhatsApp account (DESIGN.md, "Sandbox provider": a number
ending in 0001 fails with 131026, the others are sent, delivered and read within seconds).

1. A marketer imports a CSV into a new group, creates a template with variables (the sandbox
   approves it through the worker), builds a campaign mapping those variables to contact
   fields, checks the live preview and the recipient count, sends it, watches it complete and
   opens its failures by error code.
2. A marketer schedules a campaign two minutes ahead in the workspace's time zone, stops
   another campaign while waiting, sees the beat start the scheduled one, pauses and resumes
   it, and watches it complete.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import log_in

CSV = (
    "first_name,last_name,phone,order_id\n"
    "Asha,Verma,+91 98123 40001,B-1001\n"
    "Ben,Okafor,+91 98123 40012,B-1002\n"
    "Chloe,Dubois,+91 98123 40023,\n"
    "Dev,Malhotra,+91 98123 40034,B-1004\n"
)


WORKSPACE_TZ = "Asia/Kolkata"  # UTC+05:30: a half-hour offset no clock here could fake
STATS = ("Total", "Sent", "Delivered", "Read", "Failed", "Pending")


def reload_until(page: Page, locator: Locator, *, attempts: int = 30) -> None:
    """For pages that do not refresh themselves: reload until `locator` shows up (each
    attempt waits up to a second for it), then assert it once more."""
    for _ in range(attempts):
        try:
            expect(locator).to_be_visible(timeout=1000)
            return
        except AssertionError:
            page.reload()
    expect(locator).to_be_visible()


def confirm(page: Page, text: str) -> None:
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text(text)
    dialog.get_by_role("button", name="Confirm").click()


def campaign_stats(page: Page) -> dict[str, Locator]:
    live = page.locator("#campaign-live")
    return {
        name: live.locator(".stats div", has=page.locator(f"dt:text-is('{name}')")).locator("dd")
        for name in STATS
    }


def campaign_status(page: Page) -> Locator:
    return page.locator("#campaign-header .campaign-status")


def campaign_action(page: Page, button: str, confirmation: str, done: str) -> None:
    page.locator("#campaign-header").get_by_role("button", name=button).click()
    confirm(page, confirmation)
    expect(page.locator("#toasts")).to_contain_text(done)


def import_contacts_into_new_group(page: Page, *, csv: str, file_name: str, group: str) -> None:
    page.get_by_role("link", name="Contacts", exact=True).click()
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": file_name, "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", name=f"Import of {file_name}")).to_be_visible()
    # The columns are guessed from the header; order_id becomes a custom field.
    expect(page.get_by_label("Field for phone")).to_have_value("phone")
    expect(page.get_by_label("Field for order_id")).to_have_value("custom")
    page.get_by_label("…or a new group named").fill(group)
    page.get_by_role("button", name="Preview the first rows").click()
    expect(page.locator("#preview")).to_contain_text("+919812340012")
    page.get_by_role("button", name="Start import").click()
    progress = page.locator("#progress")
    expect(progress.get_by_role("heading", name="Import finished")).to_be_visible(timeout=30_000)
    expect(progress.locator(".stat", has_text="Created")).to_contain_text("4")
    expect(progress.locator(".stat", has_text="Failed")).to_contain_text("0")


def test_a_marketer_imports_contacts_and_sends_a_campaign_with_mapped_variables(page: Page, stack):
    log_in(page, "marketer@acme.test")
    import_contacts_into_new_group(
        page, csv=CSV, file_name="pickup-list.csv", group="Pickup customers"
    )

    # A template with two variables; the sandbox approves it a few seconds after submission.
    page.get_by_role("link", name="Templates", exact=True).click()
    page.get_by_role("link", name="New template").click()
    page.get_by_label("Name").fill("order_ready")
    page.get_by_label("Category").select_option("UTILITY")
    page.get_by_label("Body").fill("Hi {{1}}, your order {{2}} is ready for pickup.")
    page.get_by_label("Sample values").fill("Ana\nA-1")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#toasts")).to_contain_text("submitted to WhatsApp for review")
    reload_until(page, page.locator(".badge", has_text="Approved"))

    # The builder: template, audience, mapping; the count and preview follow every change.
    page.get_by_role("link", name="Campaigns", exact=True).click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("Pickup reminder")
    page.get_by_label("Template (approved)").select_option(label="order_ready (en_US, Utility)")
    expect(page.get_by_label("Body {{2}}: field")).to_be_visible()
    page.get_by_label("Pickup customers").check()
    live = page.locator("#live")
    expect(live.get_by_role("heading")).to_have_text("4 recipients")
    page.get_by_label("Body {{1}}: field").select_option("first_name")
    page.get_by_label("Body {{2}}: fixed value").fill("custom_fields.order_id")
    page.get_by_label("Body {{2}}: fallback").fill("(see your e-mail)")
    expect(live).to_contain_text("25% have no custom_fields.order_id")
    page.get_by_label("Preview for").select_option(label="Ben +919812340012")
    bubble = live.locator(".wa-bubble")
    expect(bubble).to_have_text("Hi Ben, your order B-1002 is ready for pickup.")
    page.get_by_label("Preview for").select_option(label="Chloe +919812340023")
    expect(bubble).to_have_text("Hi Chloe, your order (see your e-mail) is ready for pickup.")

    page.get_by_role("button", name="Send now").click()
    confirm(page, "to 4 people")
    expect(page.locator("#toasts")).to_contain_text("The campaign is sending.")
    expect(page.get_by_role("heading", name="Pickup reminder")).to_be_visible()

    # The page follows the campaign by itself: its status, progress and the sandbox's verdicts
    # (statuses still arriving after the last send).
    expect(campaign_status(page)).to_have_text("Completed", timeout=30_000)
    expect(page.locator("#campaign-header").get_by_role("button", name="Pause")).to_have_count(0)
    progress = page.locator("#campaign-live")
    expect(progress.locator("progress")).to_have_attribute("value", "100")
    failures = progress.get_by_role("table")
    expect(failures.get_by_role("row", name="131026")).to_contain_text("Message undeliverable")
    stats = campaign_stats(page)
    # WhatsApp accepted all four; the failure came after acceptance, so it moved from sent to
    # failed (total = sent + failed + pending); the other three are delivered and read.
    for name, value in [("Total", "4"), ("Sent", "3"), ("Failed", "1"), ("Pending", "0")]:
        expect(stats[name]).to_have_text(value, timeout=15_000)
    expect(stats["Delivered"]).to_have_text("3", timeout=15_000)
    expect(stats["Read"]).to_have_text("3", timeout=15_000)

    failures.get_by_role("link", name="131026").click()
    expect(page.get_by_role("heading", name="131026")).to_be_visible()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("+919812340001")
    assert not [m for m in page.console_messages if m.startswith(("error", "pageerror"))]


@pytest.fixture
def slow_sandbox(stack):
    """The sandbox account's throughput (messages per second, a setting of every WhatsApp
    account) turned down to one, so a campaign of 20 takes long enough to pause by hand."""

    def set_throughput(per_second: int) -> None:
        stack.manage(
            "shell", "-c",
            "from django_tenants.utils import schema_context\n"
            "from apps.whatsapp.models import WhatsAppAccount\n"
            "with schema_context('acme'):\n"
            "    WhatsAppAccount.objects.filter(is_active=True)"
            f".update(throughput_per_second={per_second})",
        )  # fmt: skip

    set_throughput(1)
    yield
    set_throughput(80)


def set_workspace_timezone(browser: Browser, stack, timezone: str) -> None:
    """An admin, in a browser of their own, sets the workspace's time zone."""
    context = browser.new_context(base_url=stack.base_url)
    admin = context.new_page()
    try:
        log_in(admin, "admin@acme.test")
        admin.get_by_role("link", name="Workspace", exact=True).click()
        admin.get_by_label("Timezone").select_option(timezone)
        admin.get_by_role("button", name="Save").click()
        expect(admin.locator("#toasts")).to_contain_text("Workspace saved.")
    finally:
        context.close()


def build_campaign(page: Page, *, name: str, sources: list[str], batch_size: int) -> None:
    """The builder filled with the demo's `welcome` template (no variables)."""
    page.get_by_role("link", name="Campaigns", exact=True).click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Template (approved)").select_option(label="welcome (en_US, Marketing)")
    for source in sources:
        page.get_by_label(source).check()
    page.get_by_label("Batch size").fill(str(batch_size))
    expect(page.locator("#live").get_by_role("heading")).to_have_text("20 recipients")


def test_a_marketer_schedules_pauses_resumes_and_stops_campaigns(
    page: Page, browser: Browser, stack, slow_sandbox
):
    set_workspace_timezone(browser, stack, WORKSPACE_TZ)
    log_in(page, "marketer@acme.test")
    # Both demo sources: the 20 demo contacts, sent in batches of two at one per second.
    everyone = ["Website sign-up form", "Trade show 2026"]

    # Scheduled two minutes ahead, typed in the workspace's time zone (to the minute).
    start = (datetime.now(ZoneInfo(WORKSPACE_TZ)) + timedelta(minutes=2)).replace(
        second=0, microsecond=0
    )
    build_campaign(page, name="Weekend digest", sources=everyone, batch_size=2)
    schedule = page.get_by_label(f"Schedule for ({WORKSPACE_TZ})")
    schedule.fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("The campaign is scheduled.")
    expect(campaign_status(page)).to_have_text("Scheduled")
    shown = f"scheduled {start.day} {start:%b %Y, %H:%M} ({WORKSPACE_TZ})"
    expect(page.get_by_text(shown)).to_be_visible()
    digest = page.url

    # While it waits: another campaign goes out now, and is stopped for good mid-way.
    build_campaign(page, name="Flash sale", sources=everyone, batch_size=2)
    page.get_by_role("button", name="Send now").click()
    confirm(page, "to 20 people")
    expect(campaign_status(page)).to_have_text("Running")
    campaign_action(page, "Stop", "Stop “Flash sale” for good?", "Flash sale: stop done")
    expect(campaign_status(page)).to_have_text("Stopped")
    expect(page.locator("#campaign-header").get_by_role("button", name="Resume")).to_have_count(0)
    expect(campaign_stats(page)["Pending"]).not_to_have_text("0")

    # The beat starts the scheduled one at its time; its page follows without a reload.
    page.goto(digest)
    expect(campaign_status(page)).to_have_text("Running", timeout=180_000)
    campaign_action(page, "Pause", "Pause “Weekend digest”?", "Weekend digest: pause done")
    expect(campaign_status(page)).to_have_text("Paused")
    expect(campaign_stats(page)["Pending"]).not_to_have_text("0")

    campaign_action(page, "Resume", "Resume “Weekend digest”?", "Weekend digest: resume done")
    expect(campaign_status(page)).to_have_text("Running")
    expect(campaign_status(page)).to_have_text("Completed", timeout=60_000)
    stats = campaign_stats(page)
    expect(stats["Total"]).to_have_text("20")
    expect(stats["Pending"]).to_have_text("0")
    # The timeline tells the whole story, in order.
    timeline = page.locator(".timeline li")
    expect(timeline).to_contain_text(
        [
            "campaign.scheduled",
            "campaign.started",
            "campaign.paused",
            "campaign.resumed",
            "campaign.completed",
        ]
    )
    assert not [m for m in page.console_messages if m.startswith(("error", "pageerror"))]
