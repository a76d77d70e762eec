"""Journey 6: a viewer cannot reach settings pages; a member of one workspace cannot open
another's URLs. Plus the team-management journey the dashboard shell makes possible."""

from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in


def test_a_viewer_sees_no_settings_and_is_refused_them(page: Page, stack):
    log_in(page, "viewer@acme.test")
    expect(page).to_have_url(f"{stack.base_url}/acme/")
    navigation = page.get_by_role("navigation", name="Main navigation").or_(page.locator("aside"))
    expect(navigation.get_by_role("link", name="Team", exact=True)).to_have_count(0)

    page.goto("/acme/settings/team/")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_a_member_of_another_workspace_cannot_open_acme(page: Page, stack):
    stack.manage(
        "create_tenant", "globex", "--name", "Globex", "--owner-email", "owner@globex.test",
        "--owner-password", "lynkist-demo",
    )  # fmt: skip
    log_in(page, "owner@globex.test")
    expect(page).to_have_url(f"{stack.base_url}/globex/")

    for path in ["/acme/", "/acme/settings/team/"]:
        response = page.goto(path)
        assert response.status == 404
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_an_owner_invites_changes_a_role_and_removes_a_member(page: Page, stack):
    log_in(page, "owner@acme.test")
    page.get_by_role("link", name="Team", exact=True).click()
    page.get_by_role("button", name="Invite someone").click()
    dialog = page.locator("#invite-dialog")
    dialog.get_by_label("E-mail").fill("newcomer@acme.test")
    dialog.get_by_label("Role").select_option("viewer")
    dialog.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#toasts")).to_contain_text("Invitation sent to newcomer@acme.test")

    page.get_by_label("Role of newcomer@acme.test").select_option("marketer")
    expect(page.locator("#toasts")).to_contain_text("newcomer@acme.test is now marketer")

    page.get_by_placeholder("Search members").fill("newcomer")
    expect(page).to_have_url(f"{stack.base_url}/acme/settings/team/?q=newcomer")
    row = page.locator("#member-rows tr", has_text="newcomer@acme.test")
    row.get_by_role("button", name="Remove").click()
    confirm = page.locator("#confirm-dialog")
    expect(confirm).to_contain_text("Remove newcomer@acme.test")
    confirm.get_by_role("button", name="Confirm").click()
    expect(page.locator("#toasts")).to_contain_text("Member removed")
    expect(page.locator("#member-rows")).not_to_contain_text("newcomer@acme.test")
    assert not [m for m in page.console_messages if m.startswith(("error", "pageerror"))]
