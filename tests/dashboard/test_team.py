from django_tenants.utils import schema_context

from apps.audit.models import AuditEntry
from apps.tenancy.models import Membership, Role, Tenant
from tests.factories import MembershipFactory


def test_the_team_page_lists_members_and_searches(alice_client, bob):
    response = alice_client.get("/acme/settings/team/?q=bob")
    rows = response.content.split(b'id="member-rows"')[1].split(b"</table>")[0]
    assert b"bob@acme.test" in rows
    assert b"alice@acme.test" not in rows


def test_the_team_search_answers_htmx_with_the_rows_only(alice_client, bob):
    response = alice_client.get("/acme/settings/team/?q=bob", HTTP_HX_REQUEST="true")
    assert response.content.lstrip().startswith(b'<div id="member-rows">')
    assert b"<html" not in response.content


def test_the_team_page_paginates(alice_client, acme):
    MembershipFactory.create_batch(30, tenant=acme)
    first = alice_client.get("/acme/settings/team/")
    second = alice_client.get("/acme/settings/team/?page=2")
    assert b"Page 1 of 2" in first.content and b"Page 2 of 2" in second.content
    assert alice_client.get("/acme/settings/team/?page=abc").status_code == 200


def test_an_admin_invites_someone_by_email(alice_client, acme):
    response = alice_client.post(
        "/acme/settings/team/invite/", {"email": "new@acme.test", "role": "marketer"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(tenant=acme, user__email="new@acme.test").role == "marketer"


def test_an_invalid_invite_shows_the_error_inline_and_changes_nothing(alice_client, acme):
    count = acme.memberships.count()
    response = alice_client.post(
        "/acme/settings/team/invite/", {"email": "not-an-email", "role": "x"}
    )
    assert response.status_code == 422
    assert b"Enter a valid email address" in response.content
    assert acme.memberships.count() == count


def test_an_admin_changes_a_role(alice_client, acme, bob):
    membership = Membership.objects.get(tenant=acme, user=bob)
    alice_client.post(f"/acme/settings/team/{membership.pk}/role/", {"role": "admin"})
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_removing_the_last_owner_is_refused_with_a_message(alice_client, acme, alice):
    membership = Membership.objects.get(tenant=acme, user=alice)
    response = alice_client.post(f"/acme/settings/team/{membership.pk}/remove/", follow=True)
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert b"last owner cannot be removed" in response.content


def test_an_admin_removes_a_member(alice_client, acme, bob):
    membership = Membership.objects.get(tenant=acme, user=bob)
    alice_client.post(f"/acme/settings/team/{membership.pk}/remove/")
    assert not Membership.objects.filter(pk=membership.pk).exists()
    with schema_context("acme"):
        assert AuditEntry.objects.filter(action="member.removed", target=bob.email).exists()


def test_a_viewer_cannot_change_the_team(bob_client, acme, alice):
    membership = Membership.objects.get(tenant=acme, user=alice)
    response = bob_client.post(f"/acme/settings/team/{membership.pk}/remove/")
    assert response.status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_an_outsider_cannot_touch_another_workspaces_members(charlie_client, acme, bob):
    membership = Membership.objects.get(tenant=acme, user=bob)
    assert charlie_client.post(f"/acme/settings/team/{membership.pk}/remove/").status_code == 404
    # Nor through their own workspace's URL with acme's membership id.
    charlie_client.post(f"/globex/settings/team/{membership.pk}/remove/")
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_posts_without_a_csrf_token_are_refused(alice, acme):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post("/acme/settings/team/invite/", {"email": "x@y.test", "role": "viewer"})
    assert response.status_code == 403
    assert not Membership.objects.filter(user__email="x@y.test").exists()


def test_workspace_settings_save_name_and_timezone(alice_client, acme):
    response = alice_client.post(
        "/acme/settings/workspace/", {"name": "Acme Corp", "timezone": "Asia/Kolkata"}
    )
    assert response.status_code == 302
    acme = Tenant.objects.get(pk=acme.pk)
    assert (acme.name, acme.timezone) == ("Acme Corp", "Asia/Kolkata")


def test_workspace_settings_reject_a_blank_name_inline(alice_client, acme):
    response = alice_client.post("/acme/settings/workspace/", {"name": "", "timezone": "UTC"})
    assert response.status_code == 422
    assert b"This field is required" in response.content
    assert Tenant.objects.get(pk=acme.pk).name == "Acme"


def test_the_audit_log_shows_membership_changes(alice_client, acme, bob):
    membership = Membership.objects.get(tenant=acme, user=bob)
    alice_client.post(f"/acme/settings/team/{membership.pk}/role/", {"role": "marketer"})
    response = alice_client.get("/acme/settings/audit-log/")
    assert b"member.role_changed" in response.content
    assert b"bob@acme.test" in response.content


def test_markup_in_names_is_shown_as_text(alice_client, acme):
    from apps.tenancy.services import tenant_update

    tenant_update(tenant=acme, actor=None, name="<script>alert(1)</script>", timezone="UTC")
    response = alice_client.get("/acme/")
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;" in response.content
