from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.core.errors import ApplicationError
from apps.tenancy.plans import Plan
from apps.tenancy.services import tenant_create

User = get_user_model()


class Command(BaseCommand):
    help = "Create a workspace with its schema and its owner."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-password", required=True)
        parser.add_argument("--plan", default=Plan.FREE, choices=[p for p, _ in Plan.CHOICES])
        parser.add_argument("--timezone", default="UTC")

    def handle(self, *args, **options):
        try:
            with transaction.atomic():
                owner = User.objects.filter(email__iexact=options["owner_email"]).first()
                if owner is None:
                    owner = User.objects.create_user(
                        email=options["owner_email"], password=options["owner_password"]
                    )
                tenant = tenant_create(
                    slug=options["slug"],
                    name=options["name"],
                    owner=owner,
                    plan=options["plan"],
                    timezone=options["timezone"],
                )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            self.style.SUCCESS(f"Created workspace {tenant.slug} (owner {owner.email}).")
        )
