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
import cProfile
import io
import itertools
import json
import os
import pstats
import random
import re
import statistics
import time
from collections import Counter
from pathlib import Path

SLUG = "bench-profile-contacts"
REDIS_DB = 8
API = "/api/v1/public"
ROOT = Path(__file__).resolve().parent.parent
LITERALS = re.compile(r"'(?:[^']|'')*'(?:::\w+)?|\b\d+\b|\"s\d+_x\d+\"")


def _redis_url_with_db(url: str, db: int) -> str:
    if url.startswith("unix://"):
        return f"{url.split('?')[0]}?db={db}"
    base, _, last = url.rstrip("/").rpartition("/")
    return f"{base}/{db}" if last.isdigit() else f"{url.rstrip('/')}/{db}"


def _boot() -> None:
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from lynkist import embedded

    base = os.environ.get("REDIS_URL") or embedded.redis_url()
    os.environ["REDIS_URL"] = _redis_url_with_db(base, REDIS_DB)
    from bench._django import setup

    setup()


def _flush_redis() -> None:
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def _drop_workspace() -> None:
    from django.db import connection

    from apps.tenancy.models import Tenant

    connection.set_schema_to_public()
    stale = Tenant.objects.filter(slug=SLUG).first()
    if stale:
        stale.delete(force_drop=True)


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
            _drop_workspace()
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


def _where(filename: str, line: int, name: str) -> str:
    if filename.startswith(str(ROOT)):
        filename = filename[len(str(ROOT)) + 1 :]
    elif "site-packages/" in filename:
        filename = filename.split("site-packages/", 1)[1]
    return f"{filename}:{line}({name})" if filename != "~" else name


def _print_top(stats: pstats.Stats, key: str, top: int, own_only: bool) -> None:
    index = 3 if key == "cumulative" else 2
    rows = []
    for (filename, line, name), values in stats.stats.items():
        if own_only and not filename.startswith((str(ROOT / "apps"), str(ROOT / "lynkist"))):
            continue
        rows.append((values[index], values[2], values[3], values[1], _where(filename, line, name)))
    rows.sort(key=lambda row: -row[0])
    total = stats.total_tt
    print(f"{'cum %':>6} {'own %':>6} {'calls':>8}  function")
    for _, own, cum, calls, where in rows[:top]:
        print(f"{cum / total * 100:6.1f} {own / total * 100:6.1f} {calls:8d}  {where}")


def measure(name: str, call, requests: int, profile: bool, top: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(20):  # imports, connections, per-process caches
        response = call()
        assert 200 <= response.status_code < 300, (name, response.status_code, response.content)
    timings, cpus = [], []
    statements: Counter[str] = Counter()
    with CaptureQueriesContext(connection) as captured:
        for _ in range(requests):
            cpu, started = time.process_time(), time.perf_counter()
            response = call()
            timings.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
            assert 200 <= response.status_code < 300, (name, response.status_code)
    seconds: Counter[str] = Counter()
    for query in captured.captured_queries:
        # Literals out, so that one statement with new values counts as the same statement.
        sql = LITERALS.sub("?", " ".join(query["sql"].split()))[:100]
        statements[sql] += 1
        seconds[sql] += float(query["time"])
    sql_ms = sum(float(q["time"]) for q in captured.captured_queries) / requests * 1000
    print(f"\n=== {name}: {requests} requests in-process ===")
    print(
        f"wall mean {statistics.fmean(timings) * 1000:.2f} ms, p50 "
        f"{statistics.median(timings) * 1000:.2f} ms; CPU mean "
        f"{statistics.fmean(cpus) * 1000:.2f} ms; "
        f"{len(captured.captured_queries) / requests:.2f} statements and {sql_ms:.2f} ms SQL "
        "per request"
    )
    print("-- statements per request (count, ms) --")
    for sql, count in statements.most_common(12):
        print(f"{count / requests:5.2f} {seconds[sql] / requests * 1000:6.2f}  {sql}")
    if not profile:
        return
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    print(f"-- the project's functions by cumulative time ({stats.total_tt:.2f} s profiled) --")
    _print_top(stats, "cumulative", top, own_only=True)
    print("-- every function by own time --")
    _print_top(stats, "tottime", top, own_only=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--endpoint", choices=["list", "search", "create", "all"], default="all")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--keep", action="store_true", help="keep the workspace for next run")
    args = parser.parse_args()
    _boot()
    _flush_redis()
    try:
        calls = Calls(seed(args.contacts), args.contacts)
        for name, label in (
            ("list", "GET /contacts"),
            ("search", "POST /contacts/search"),
            ("create", "POST /contacts"),
        ):
            if args.endpoint in (name, "all"):
                measure(label, getattr(calls, name), args.requests, args.profile, args.top)
    finally:
        if args.keep:
            _forget_created()
        else:
            _drop_workspace()
        _flush_redis()


if __name__ == "__main__":
    main()
