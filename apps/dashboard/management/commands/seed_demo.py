"""A ready demo workspace. Later apps add their own demo data through `seed_steps` below."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.contacts.demo import seed_contacts_demo
from apps.message_templates.demo import seed_whatsapp_demo
from apps.tenancy.models import Membership, Role, Tenant
from apps.tenancy.plans import Plan
from apps.tenancy.services import membership_add, tenant_create

User = get_user_model()

DEMO_PASSWORD = "lynkist-demo"


def demo_user(email: str) -> "User":
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD)
    return user


class Command(BaseCommand):
    help = "Create (or complete) the demo workspace: owner, one user per role, demo data."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default="acme")
        parser.add_argument("--contacts", type=int, default=200)

    def handle(self, *args, **options):
        slug = options["tenant"]
        with transaction.atomic():
            owner = demo_user(f"owner@{slug}.test")
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                tenant = tenant_create(
                    slug=slug, name=slug.replace("-", " ").title(), owner=owner, plan=Plan.PRO
                )
            for role in (Role.ADMIN, Role.MARKETER, Role.VIEWER):
                user = demo_user(f"{role.value}@{slug}.test")
                if not Membership.objects.filter(tenant=tenant, user=user).exists():
                    membership_add(tenant=tenant, user=user, role=role, actor=None)
            # WhatsApp (sandbox account) and approved templates.
            seed_whatsapp_demo(tenant=tenant)
            # Groups, sources and --contacts N contacts.
            seed_contacts_demo(tenant=tenant, count=options["contacts"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo workspace “{tenant.name}” ready: log in as owner@{slug}.test / "
                f"{DEMO_PASSWORD} (also admin@, marketer@ and viewer@{slug}.test)."
            )
        )
