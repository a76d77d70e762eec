import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from apps.audit.models import AuditEntry
from apps.core.errors import ApplicationError, Conflict, ValidationFailed
from apps.tenancy import services
from apps.tenancy.models import Membership, Role
from tests.factories import MembershipFactory, UserFactory


def _tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema]
        )
        return {row[0] for row in cursor.fetchall()}


class TestTenantCreate:
    def test_it_clones_a_schema_with_every_tenant_table(self, db, workspaces):
        owner = UserFactory()

        tenant = services.tenant_create(slug="initech", name="Initech", owner=owner)

        assert schema_exists("initech")
        assert "audit_auditentry" in _tables("initech")
        assert _tables("initech") == _tables("tenant_template")
        assert Membership.objects.get(tenant=tenant, user=owner).role == Role.OWNER

    def test_the_clone_records_every_migration_as_applied(self, db, workspaces):
        services.tenant_create(slug="hooli", name="Hooli")
        with schema_context("hooli"), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'audit'")
            assert cursor.fetchone()[0] >= 1

    def test_a_hyphenated_slug_gets_an_underscored_schema(self, db, workspaces):
        tenant = services.tenant_create(slug="pied-piper", name="Pied Piper")
        assert tenant.schema_name == "pied_piper"

    @pytest.mark.parametrize("slug", ["api", "admin", "accounts", "webhooks", "healthz", "static"])
    def test_it_refuses_reserved_slugs(self, db, slug):
        with pytest.raises(ValidationFailed, match="reserved"):
            services.tenant_create(slug=slug, name="X")

    @pytest.mark.parametrize(
        "slug", ["", "ab", "Has Space", "-lead", "trail-", "dou--ble", "9lives"]
    )
    def test_it_refuses_malformed_slugs(self, db, slug):
        with pytest.raises(ValidationFailed):
            services.tenant_create(slug=slug, name="X")

    def test_it_refuses_a_taken_slug(self, acme):
        with pytest.raises(Conflict):
            services.tenant_create(slug="acme", name="Another Acme")

    def test_it_refuses_an_unknown_timezone(self, db):
        with pytest.raises(ValidationFailed) as error:
            services.tenant_create(slug="tz-test", name="X", timezone="Mars/Olympus")
        assert error.value.field == "timezone"


class TestMemberships:
    def test_the_last_owner_cannot_be_demoted(self, acme, alice):
        membership = Membership.objects.get(tenant=acme, user=alice)
        with pytest.raises(ApplicationError, match="last owner"):
            services.membership_change_role(
                tenant=acme, membership_id=membership.pk, role=Role.ADMIN,
                actor=alice, actor_role=Role.OWNER,
            )  # fmt: skip
        membership.refresh_from_db()
        assert membership.role == Role.OWNER

    def test_the_last_owner_cannot_be_removed(self, acme, alice):
        membership = Membership.objects.get(tenant=acme, user=alice)
        with pytest.raises(ApplicationError, match="last owner"):
            services.membership_remove(
                tenant=acme, membership_id=membership.pk, actor=alice, actor_role=Role.OWNER
            )
        assert Membership.objects.filter(pk=membership.pk).exists()

    def test_an_owner_can_step_down_when_another_owner_exists(self, acme, alice):
        MembershipFactory(tenant=acme, role=Role.OWNER)
        membership = Membership.objects.get(tenant=acme, user=alice)
        services.membership_change_role(
            tenant=acme, membership_id=membership.pk, role=Role.ADMIN,
            actor=alice, actor_role=Role.OWNER,
        )  # fmt: skip
        membership.refresh_from_db()
        assert membership.role == Role.ADMIN

    def test_an_admin_cannot_demote_an_owner(self, acme, alice):
        admin = MembershipFactory(tenant=acme, role=Role.ADMIN).user
        MembershipFactory(tenant=acme, role=Role.OWNER)
        owner = Membership.objects.get(tenant=acme, user=alice)
        with pytest.raises(ApplicationError) as error:
            services.membership_change_role(
                tenant=acme, membership_id=owner.pk, role=Role.VIEWER,
                actor=admin, actor_role=Role.ADMIN,
            )  # fmt: skip
        assert error.value.status == 403

    def test_an_admin_cannot_invite_an_owner(self, acme, alice):
        admin = MembershipFactory(tenant=acme, role=Role.ADMIN).user
        with pytest.raises(ApplicationError):
            services.membership_invite(
                tenant=acme, email="new@x.test", role=Role.OWNER, actor=admin, actor_role="admin"
            )
        assert not Membership.objects.filter(user__email="new@x.test").exists()

    def test_inviting_a_new_address_creates_a_passwordless_user_and_mails_a_link(
        self, acme, alice, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            membership, created = services.membership_invite(
                tenant=acme, email="Dana@Example.TEST", role=Role.MARKETER,
                actor=alice, actor_role=Role.OWNER,
            )  # fmt: skip
        assert created
        assert membership.user.email == "Dana@example.test"
        assert not membership.user.has_usable_password()
        assert len(mail.outbox) == 1
        assert "/accounts/password/set/" in mail.outbox[0].body

    def test_inviting_an_existing_member_twice_is_a_conflict(self, acme, alice, bob):
        with pytest.raises(Conflict):
            services.membership_invite(
                tenant=acme, email=bob.email, role=Role.VIEWER, actor=alice, actor_role="owner"
            )

    def test_membership_changes_are_audited_in_the_workspace(self, acme, alice, bob):
        bob_membership = Membership.objects.get(tenant=acme, user=bob)
        services.membership_change_role(
            tenant=acme, membership_id=bob_membership.pk, role=Role.MARKETER,
            actor=alice, actor_role=Role.OWNER,
        )  # fmt: skip
        with schema_context(acme.schema_name):
            entry = AuditEntry.objects.filter(action="member.role_changed").first()
        assert entry.actor_email == alice.email
        assert entry.target == bob.email
        assert entry.details == {"from": "viewer", "to": "marketer"}


def _names(schema: str) -> set[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint c"
            " JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = %s"
            " AND conrelid <> 0 UNION"
            " SELECT tablename, indexname FROM pg_indexes WHERE schemaname = %s",
            [schema, schema],
        )
        return {(table.rsplit(".", 1)[-1], name) for table, name in cursor.fetchall()}


def test_a_new_workspace_has_the_templates_constraint_and_index_names(db):
    from apps.tenancy.schemas import template_schema_name

    tenant = services.tenant_create(slug="names-kept", name="Names kept")
    names = _names(tenant.schema_name)
    assert ("campaigns_campaignrecipient", "campaign_recipient_once") in names
    assert names == _names(template_schema_name())


def test_drifted_names_are_given_back_the_templates(acme):
    from django.db import connection

    from apps.tenancy.schemas import schema_names_align

    with connection.cursor() as cursor:
        cursor.execute(
            'ALTER TABLE "acme"."contacts_groupmember"'
            ' RENAME CONSTRAINT "group_member_unique" TO "contacts_groupmember_key"'
        )
        cursor.execute('ALTER INDEX "acme"."contact_live_phone_unique" RENAME TO "phone_idx"')
    assert schema_names_align("acme") == 2
    names = _names("acme")
    assert {("contacts_groupmember", "group_member_unique")} <= names
    assert ("contacts_contact", "contact_live_phone_unique") in names
    assert schema_names_align("acme") == 0
