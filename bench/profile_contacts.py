"""In-process cost of the three contacts endpoints of the load bench (issue #9):
`GET /api/v1/public/contacts`, `POST /contacts/search` and `POST /contacts`.

    .venv/bin/python -m bench.profile_contacts [--requests 300] [--contacts 100000]
        [--endpoint list|search|create|all] [--profile] [--top 25] [--keep]

Sets up, on the configured (or embedded) PostgreSQL, a throwaway workspace
`bench-profile-contacts` (enterprise plan with the limits lifted, N contacts filled in SQL as
bench/load.py fills its own, an `lk_sk_test_` key with every scope) and drops it at the end
unless `--keep` (a kept workspace, less the contacts the run created, is reused by the next
run, which then skips the fill).
Redis database 8 of the configured Redis takes the cache and the rate limits; it is flushed
before and after, so cached counts and window edges start cold at every run, as a fresh
deployment's do.

Each endpoint is called through `django.test.Client` (the full middleware and API stack, no
network) with the load bench's requests (same shapes and proportions: list pages 1 mostly
and 2-10 sometimes, a quarter with a status; search terms a first name, a full name, a
company, a phone prefix or an e-mail fragment; creates with unique phones): a warm-up, then N
timed requests, printing mean wall and CPU ms of this process per request (CPU is what the
load bench runs out of; wall time also waits on the shared database), statements per request,
then with `--profile` N more under cProfile with the functions of most cumulative and own
time. Figures from a shared 2-core machine drift: compare runs taken back to back.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random

from bench._profiling import boot, drop_workspace, flush_redis, measure

SLUG = "bench-profile-contacts"
REDIS_DB = 8
API = "/api/v1/public"


def _forget_created() -> None:
    """A kept workspace loses the run's own contacts, so the next run pages the same rows."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from apps.tenancy.models import Tenant

    connection.set_schema_to_public()
    tenant = Tenant.objects.get(slug=SLUG)
    with schema_context(tenant.schema_name), connection.cursor() as cursor:
        cursor.execute("DELETE FROM contacts_contact WHERE phone LIKE '+9196%%'")


def seed(contacts: int) -> str:
    """The workspace's API secret; a kept workspace of the same size is reused."""
    from django.db import connection
    from django_tenants.utils import schema_context

    from apps.apikeys.scopes import ALL_SCOPES
    from apps.apikeys.services import api_key_create
    from apps.contacts.models import Contact
    from apps.tenancy.models import Tenant
    from apps.tenancy.plans import Plan
    from apps.tenancy.services import tenant_create
    from bench._django import fill_contacts

    connection.set_schema_to_public()
    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is not None:
        with schema_context(tenant.schema_name):
            seeded = Contact.objects.filter(phone__startswith="+9197").count()
            # Contacts created by an earlier run would shift the pages: start over.
            fresh = seeded == contacts and Contact.objects.count() == contacts
        if not fresh:
            drop_workspace(SLUG)
            tenant = None
    if tenant is None:
        tenant = tenant_create(slug=SLUG, name="Contacts profile", plan=Plan.ENTERPRISE)
        with schema_context(tenant.schema_name), connection.cursor() as cursor:
            fill_contacts(cursor, contacts, companies=5_000, tag="profile")
    Tenant.objects.filter(pk=tenant.pk).update(
        custom_requests_per_minute=1_000_000_000, custom_requests_per_day=2_000_000_000
    )
    _, secret = api_key_create(tenant=tenant, name="profile", scopes=ALL_SCOPES, mode="test")
    return secret


class Calls:
    """The load bench's contacts requests (bench/load.py's Traffic), deterministic."""

    def __init__(self, secret: str, contacts: int) -> None:
        from django.test import Client

        from apps.contacts.demo import FIRST, LAST

        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        self.contacts = contacts
        self.first, self.last = list(FIRST), list(LAST)
        self.rng = random.Random(9)
        self.created = itertools.count(1)

    def _number(self) -> int:
        n = self.rng.randrange(self.contacts)
        return n + 10 if 1 <= n % 10_000 <= 4 else n

    def list(self):
        rng = self.rng
        page = 1 if rng.random() < 0.7 else rng.randint(2, 10)
        query = f"page={page}&limit=20"
        if rng.random() < 0.25:
            query += "&status=" + rng.choice(["lead", "customer", "active"])
        return self.client.get(f"{API}/contacts?{query}")

    def search(self):
        rng, n = self.rng, self._number()
        term = rng.choice(
            [
                rng.choice(self.first),
                f"{rng.choice(self.first)} {rng.choice(self.last)}",
                f"company {rng.randrange(5000)}",
                f"+9197{n:08d}"[:11],
                f"user.{n}@",
            ]
        )
        return self.client.post(
            f"{API}/contacts/search?limit=20",
            data=json.dumps({"search_term": term}),
            content_type="application/json",
        )

    def create(self):
        n = next(self.created)
        first = self.rng.choice(self.first)
        body = {
            "first_name": first,
            "last_name": self.rng.choice(self.last),
            # A run's own numbers: +9196..., never the seeded +9197... ones.
            "phone": f"+9196{os.getpid() % 100:02d}{n:06d}",
            "email": f"{first.lower()}.profile{n}@example.test",
            "company": "Load Corp",
            "tags": ["load", "api"],
            "custom_fields": {"order_id": f"L{n}"},
        }
        return self.client.post(
            f"{API}/contacts", data=json.dumps(body), content_type="application/json"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--endpoint", choices=["list", "search", "create", "all"], default="all")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--keep", action="store_true", help="keep the workspace for next run")
    args = parser.parse_args()
    boot(REDIS_DB)
    flush_redis()
    try:
        calls = Calls(seed(args.contacts), args.contacts)
        for name, label in (
            ("list", "GET /contacts"),
            ("search", "POST /contacts/search"),
            ("create", "POST /contacts"),
        ):
            if args.endpoint in (name, "all"):
                measure(
                    label, getattr(calls, name), args.requests, profile=args.profile, top=args.top
                )
    finally:
        if args.keep:
            _forget_created()
        else:
            drop_workspace(SLUG)
        flush_redis()


if __name__ == "__main__":
    main()
