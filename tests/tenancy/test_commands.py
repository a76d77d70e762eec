import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import User
from apps.tenancy.models import Membership, Role, Tenant


def test_create_tenant_makes_the_workspace_and_its_owner(db, workspaces, capsys):
    call_command(
        "create_tenant", "umbrella", "--name", "Umbrella", "--owner-email", "ceo@umbrella.test",
        "--owner-password", "s3cret-Passw0rd", "--plan", "starter",
    )  # fmt: skip
    tenant = Tenant.objects.get(slug="umbrella")
    owner = User.objects.get(email="ceo@umbrella.test")
    assert tenant.plan == "starter"
    assert owner.check_password("s3cret-Passw0rd")
    assert Membership.objects.get(tenant=tenant, user=owner).role == Role.OWNER
    assert "Created workspace umbrella" in capsys.readouterr().out


def test_create_tenant_reports_a_reserved_slug_as_a_command_error(db):
    with pytest.raises(CommandError, match="reserved"):
        call_command(
            "create_tenant", "admin", "--name", "X", "--owner-email", "x@x.test",
            "--owner-password", "pw",
        )  # fmt: skip
    assert not User.objects.filter(email="x@x.test").exists()


def test_seed_demo_creates_a_pro_workspace_with_one_user_per_role(db, workspaces):
    call_command("seed_demo", "--tenant", "demo-co")
    tenant = Tenant.objects.get(slug="demo-co")
    assert tenant.plan == "pro"
    roles = dict(Membership.objects.filter(tenant=tenant).values_list("user__email", "role"))
    assert roles == {
        "owner@demo-co.test": "owner",
        "admin@demo-co.test": "admin",
        "marketer@demo-co.test": "marketer",
        "viewer@demo-co.test": "viewer",
    }
    assert User.objects.get(email="owner@demo-co.test").check_password("lynkist-demo")


def test_seed_demo_can_run_twice(db, workspaces):
    call_command("seed_demo", "--tenant", "demo-co")
    call_command("seed_demo", "--tenant", "demo-co")
    assert Membership.objects.filter(tenant__slug="demo-co").count() == 4
