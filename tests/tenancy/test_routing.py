import pytest
from django.test import Client

ADMIN_PAGES = ["/acme/settings/team/", "/acme/settings/workspace/", "/acme/settings/audit-log/"]


def test_a_member_opens_the_workspace_overview(alice_client):
    response = alice_client.get("/acme/")
    assert response.status_code == 200
    assert b"Acme" in response.content


def test_an_outsider_gets_404_for_an_existing_workspace(charlie_client):
    assert charlie_client.get("/acme/").status_code == 404
    assert charlie_client.get("/acme/settings/team/").status_code == 404


def test_an_outsider_sees_the_same_404_for_a_workspace_that_does_not_exist(charlie_client):
    existing = charlie_client.get("/acme/")
    missing = charlie_client.get("/no-such-workspace/")
    assert existing.status_code == missing.status_code == 404


def test_anonymous_visitors_go_to_login_whether_or_not_the_workspace_exists(acme):
    client = Client()
    for path in ["/acme/", "/no-such-workspace/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_a_viewer_cannot_open_admin_pages(bob_client, path):
    assert bob_client.get(path).status_code == 403


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_an_owner_opens_admin_pages(alice_client, path):
    assert alice_client.get(path).status_code == 200


def test_a_viewer_does_not_see_settings_in_the_navigation(bob_client):
    response = bob_client.get("/acme/")
    assert b"/acme/settings/team/" not in response.content


def test_an_inactive_workspace_is_404_even_for_its_members(acme, alice_client):
    acme.is_active = False
    acme.save()
    assert alice_client.get("/acme/").status_code == 404


def test_reserved_paths_are_not_workspaces(alice_client):
    assert alice_client.get("/healthz").status_code == 200
    assert alice_client.get("/accounts/login/").status_code == 302  # already logged in
