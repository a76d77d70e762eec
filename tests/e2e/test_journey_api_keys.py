"""Journey: an admin creates a read-only API key with the preset, copies the secret shown once,
calls the public API with it through the real server, then revokes the key after confirming,
and the next requests (whichever gunicorn worker takes them) are refused."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from playwright.sync_api import Page, expect

from apps.apikeys.scopes import READ_SCOPES
from tests.e2e.conftest import log_in


def call_me(stack, secret: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{stack.base_url}/api/v1/public/me", headers={"Authorization": f"Bearer {secret}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_an_admin_creates_uses_and_revokes_an_api_key(page: Page, stack):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, "admin@acme.test")
    page.get_by_role("link", name="API keys", exact=True).click()
    expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()

    page.get_by_role("button", name="Create API key").click()
    dialog = page.locator("#create-key-dialog")
    dialog.get_by_label("Name").fill("Warehouse sync")
    dialog.get_by_label("Read only").check()
    # The preset ticks its scopes in the dialog right away.
    expect(dialog.locator('input[name="scopes"][value="contacts:read"]')).to_be_checked()
    expect(dialog.locator('input[name="scopes"][value="contacts:write"]')).not_to_be_checked()
    dialog.get_by_role("button", name="Create key").click()

    expect(page.get_by_text("It is shown only once", exact=False)).to_be_visible()
    secret = page.locator("#api-key-secret").inner_text().strip()
    assert secret.startswith("lk_sk_live_")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    status, body = call_me(stack, secret)
    assert status == 200
    assert body["tenant"]["slug"] == "acme"
    assert body["api_key"]["scopes"] == list(READ_SCOPES)

    page.get_by_role("link", name="I have stored it").click()
    row = page.locator("tr", has_text="Warehouse sync")
    expect(row).to_contain_text("active")
    assert secret not in page.content()
    row.get_by_role("button", name="Revoke").click()
    confirm = page.locator("#confirm-dialog")
    expect(confirm).to_contain_text("Revoke “Warehouse sync”?")
    confirm.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("is revoked", exact=False)).to_be_visible()
    expect(page.locator("tr", has_text="Warehouse sync")).to_contain_text("revoked")

    for _ in range(4):
        status, body = call_me(stack, secret)
        assert status == 401
        assert body["error"]["code"] == "invalid_api_key"
    csp_errors = [m for m in page.console_messages if "Content Security Policy" in m]
    assert csp_errors == []
