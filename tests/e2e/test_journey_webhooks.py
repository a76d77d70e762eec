"""Journey: an admin adds a webhook endpoint, copies its secret, sends a test event and watches
the real worker deliver it to a receiver on loopback, which verifies the signature with the
`standardwebhooks` package; then rotates the secret after confirming."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in
from tests.e2e.stack import LiveStack


@pytest.fixture(scope="module")
def stack():
    # The receiver lives on loopback and speaks plain HTTP: allowed for this stack only.
    live = LiveStack()
    live.env.update(WEBHOOKS_ALLOW_LOOPBACK="true", WEBHOOKS_REQUIRE_HTTPS="false")
    live.start()
    yield live
    live.stop()


@pytest.fixture
def receiver():
    received: list[tuple[dict[str, str], str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    server.received = received
    server.url = f"http://127.0.0.1:{server.server_address[1]}/lynkist"
    yield server
    server.shutdown()
    server.server_close()


def test_an_admin_adds_an_endpoint_and_a_test_event_arrives_signed(page: Page, stack, receiver):
    from standardwebhooks import Webhook

    log_in(page, "admin@acme.test")
    page.get_by_role("link", name="Webhooks", exact=True).click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    page.get_by_role("link", name="Add endpoint").click()
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("CRM sync")
    page.get_by_label("Send every event type").check()
    page.get_by_role("button", name="Add endpoint").click()

    expect(page.locator("#toasts")).to_contain_text("Endpoint added")
    secret = page.locator("code.secret").inner_text()
    assert secret.startswith("whsec_")

    page.get_by_role("button", name="Send test event").click()
    expect(page.locator("#toasts")).to_contain_text("Test event queued")
    # Every event type goes to this endpoint, so the demo workspace's own events (the sandbox
    # approving templates, say) may arrive too; each must verify, and the test event be among them.
    webhook = Webhook(secret)
    types: list[str] = []
    for _ in range(30):
        types = [webhook.verify(body, headers)["type"] for headers, body in receiver.received]
        if "webhook.test" in types:
            break
        page.wait_for_timeout(500)
    assert "webhook.test" in types, f"the worker delivered {types}"

    for _ in range(10):
        page.reload()
        test_row = page.locator("#delivery-rows tr", has_text="webhook.test")
        if test_row.locator(".badge", has_text="Succeeded").count():
            break
        page.wait_for_timeout(500)
    page.locator("#delivery-rows").get_by_role("link", name="webhook.test").click()
    expect(page.locator("pre.http").last).to_contain_text("HTTP 200")

    page.get_by_role("link", name="← ").first.click()
    page.get_by_role("button", name="Rotate secret").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Confirm").click()
    expect(page.locator("#toasts")).to_contain_text("old one keeps signing")
    assert page.locator("code.secret").inner_text() != secret
