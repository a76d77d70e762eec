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
import cProfile
import io
import json
import os
import pstats
import random
import re
import statistics
import time
from collections import Counter
from pathlib import Path

SLUG = "bench-profile"
REDIS_DB = 7
API = "/api/v1/public"
ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
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

    _drop_workspace()
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


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _proc_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process on this machine, None if it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def measure(name: str, call, requests: int, profile: bool, top: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(20):  # imports, connections, per-process caches
        response = call()
        assert response.status_code == 200, (name, response.status_code, response.content)
    timings = []
    statements: Counter[str] = Counter()
    backend = _backend_pid()
    backend_before = _proc_cpu(backend)
    cpu_before = time.process_time()
    with CaptureQueriesContext(connection) as captured:
        for _ in range(requests):
            started = time.perf_counter()
            response = call()
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, (name, response.status_code)
    cpu = (time.process_time() - cpu_before) / requests * 1000
    backend_after = _proc_cpu(backend)
    seconds: Counter[str] = Counter()
    for query in captured.captured_queries:
        # Literals out, so that one statement with new values counts as the same statement.
        sql = LITERALS.sub("?", " ".join(query["sql"].split()))[:100]
        statements[sql] += 1
        seconds[sql] += float(query["time"])
    sql_ms = sum(float(q["time"]) for q in captured.captured_queries) / requests * 1000
    print(f"\n=== {name}: {requests} requests in-process ===")
    print(
        f"mean {statistics.fmean(timings) * 1000:.2f} ms, p50 "
        f"{statistics.median(timings) * 1000:.2f} ms, "
        f"{len(captured.captured_queries) / requests:.1f} queries and {sql_ms:.2f} ms SQL "
        "per request"
    )
    # CPU is what the load bench runs out of; wall time here also waits on a shared database.
    server = (
        f"{(backend_after - backend_before) / requests * 1000:.2f} ms"
        if backend_before is not None and backend_after is not None
        else "not readable (not on this machine)"
    )
    print(f"CPU per request: this process {cpu:.2f} ms, its PostgreSQL backend {server}")
    print("-- statements per request (count, ms) --")
    for sql, count in statements.most_common(20):
        print(f"{count / requests:5.1f} {seconds[sql] / requests * 1000:6.2f}  {sql}")
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
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--endpoint", choices=["send", "stats", "all"], default="all")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    _boot()
    _flush_redis()
    try:
        secret, _, campaign_id = seed(args.contacts)
        calls = Calls(secret, campaign_id, args.contacts)
        if args.endpoint in ("send", "all"):
            measure("POST /messages/template", calls.send, args.requests, args.profile, args.top)
        if args.endpoint in ("stats", "all"):
            measure("GET /campaigns/{id}", calls.stats, args.requests, args.profile, args.top)
    finally:
        _drop_workspace()
        _flush_redis()


if __name__ == "__main__":
    main()
