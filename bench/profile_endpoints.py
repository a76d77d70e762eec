"""In-process cost of the two load-bench endpoints of messaging and campaigns (issue #9):
`POST /api/v1/public/messages/template` through the sandbox and `GET /api/v1/public/campaigns/{id}`.

    .venv/bin/python -m bench.profile_endpoints [--requests 300] [--contacts 20000]
        [--endpoint send|stats|all] [--profile] [--top 25]

Sets up, on the configured (or embedded) PostgreSQL, a throwaway workspace `bench-profile`
as bench/load.py seeds its own (enterprise plan with the limits lifted, the sandbox WhatsApp
account and the demo's approved templates, N contacts filled in SQL, a group and a source, a
campaign with both as its audience and funnel counters filled in, an `lk_sk_test_` key with
every scope), and drops it at the end. Redis database 7 of the configured Redis takes the
cache, the rate limits and the sandbox's queued status runs (no worker runs: they are
flushed at the end), so nothing lands in the development database's queues.

Each endpoint is called through `django.test.Client` (the full middleware and API stack, no
network): a warm-up, then N timed requests (mean and p50 ms, queries per request counted
with CaptureQueriesContext, i.e. every statement through Django's cursors; CPU per request
of this process and of its PostgreSQL backend, which is what the load bench runs out of,
while wall time also waits on whatever else the shared database serves), then with
`--profile` N more under cProfile, printing the functions with the most cumulative and own
time. Figures from a shared 2-core machine drift: compare runs taken back to back.
"""

from __future__ import annotations

import argparse
import json
import random

from bench._profiling import boot, drop_workspace, flush_redis, measure

SLUG = "bench-profile"
REDIS_DB = 7
API = "/api/v1/public"


def seed(contacts: int) -> tuple[str, str, str]:
    """(secret, schema, campaign id)."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from apps.apikeys.scopes import ALL_SCOPES
    from apps.apikeys.services import api_key_create
    from apps.campaigns.models import Campaign, CampaignStatus
    from apps.campaigns.services import campaign_create
    from apps.contacts.models import Group, Source
    from apps.message_templates.demo import seed_whatsapp_demo
    from apps.message_templates.models import MessageTemplate
    from apps.tenancy.models import Tenant
    from apps.tenancy.plans import Plan
    from apps.tenancy.services import tenant_create
    from bench._django import fill_contacts

    drop_workspace(SLUG)
    tenant = tenant_create(slug=SLUG, name="Profile bench", plan=Plan.ENTERPRISE)
    Tenant.objects.filter(pk=tenant.pk).update(
        custom_requests_per_minute=1_000_000_000, custom_requests_per_day=2_000_000_000
    )
    seed_whatsapp_demo(tenant=tenant)
    _, secret = api_key_create(tenant=tenant, name="profile", scopes=ALL_SCOPES, mode="test")
    with schema_context(tenant.schema_name):
        with connection.cursor() as cursor:
            fill_contacts(cursor, contacts, companies=500, tag="profile")
        group = Group.objects.create(name="Profile audience")
        source = Source.objects.create(name="Profile source", kind="api")
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO contacts_groupmember (group_id, contact_id, added_at)"
                " SELECT %s, id, now() FROM contacts_contact ORDER BY created_at LIMIT 1000",
                [group.pk],
            )
        template = MessageTemplate.objects.get(name="order_confirmation", language="en_US")
        campaign = campaign_create(
            name="Profile campaign",
            template=template,
            variable_mapping={
                "body": {
                    "1": {"field": "first_name", "fallback": "there"},
                    "2": {"field": "custom_fields.order_id", "fallback": "A0"},
                }
            },
            groups=[group.pk],
            sources=[source.pk],
            send_mode="test",
            batch_size=100,
        )
        # A finished campaign's counters, as the load bench reads them (the read does not
        # depend on their values).
        Campaign.objects.filter(pk=campaign.pk).update(
            status=CampaignStatus.COMPLETED,
            total_recipients=1000,
            sent_count=990,
            delivered_count=980,
            read_count=700,
            failed_count=10,
        )
    return secret, tenant.schema_name, str(campaign.pk)


class Calls:
    def __init__(self, secret: str, campaign_id: str, contacts: int) -> None:
        from django.test import Client

        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        self.campaign_id = campaign_id
        self.contacts = contacts
        self.rng = random.Random(9)

    def send(self):
        n = self.rng.randrange(self.contacts)
        n = n + 10 if 1 <= n % 10_000 <= 4 else n  # clear of the sandbox's failing numbers
        body = {
            "to": f"+9197{n:08d}",
            "template_name": "order_confirmation",
            "language": "en_US",
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Anurag"},
                        {"type": "text", "text": f"ORD-{n}"},
                    ],
                }
            ],
        }
        return self.client.post(
            f"{API}/messages/template", data=json.dumps(body), content_type="application/json"
        )

    def stats(self):
        return self.client.get(f"{API}/campaigns/{self.campaign_id}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--endpoint", choices=["send", "stats", "all"], default="all")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    boot(REDIS_DB)
    flush_redis()
    try:
        secret, _, campaign_id = seed(args.contacts)
        calls = Calls(secret, campaign_id, args.contacts)
        if args.endpoint in ("send", "all"):
            measure(
                "POST /messages/template",
                calls.send,
                args.requests,
                profile=args.profile,
                top=args.top,
            )
        if args.endpoint in ("stats", "all"):
            measure(
                "GET /campaigns/{id}",
                calls.stats,
                args.requests,
                profile=args.profile,
                top=args.top,
            )
    finally:
        drop_workspace(SLUG)
        flush_redis()


if __name__ == "__main__":
    main()
