from django.core.management.base import BaseCommand, CommandError

from apps.apikeys.models import ApiKeyMode
from apps.apikeys.scopes import ALL_SCOPES
from apps.apikeys.services import api_key_create
from apps.core.errors import ApplicationError
from apps.tenancy.selectors import tenant_by_slug


class Command(BaseCommand):
    help = "Create an API key for a workspace. The secret is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="workspace slug")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--scopes", default="all", help="`all` or a comma-separated list, e.g. contacts:read"
        )
        parser.add_argument("--mode", default=ApiKeyMode.LIVE, choices=ApiKeyMode.values)

    def handle(self, *args, **options):
        tenant = tenant_by_slug(slug=options["tenant"])
        if tenant is None:
            raise CommandError(f"No workspace with slug “{options['tenant']}”.")
        raw = options["scopes"].strip()
        scopes = list(ALL_SCOPES) if raw == "all" else [s for s in raw.split(",") if s.strip()]
        try:
            api_key, secret = api_key_create(
                tenant=tenant, name=options["name"], scopes=scopes, mode=options["mode"]
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"Created {api_key.mode} key “{api_key.name}” for {tenant.slug} "
            f"with scopes: {', '.join(api_key.scopes) or '(none)'}."
        )
        self.stdout.write("Store this secret now; it is not shown again:")
        self.stdout.write(secret)
