"""Contact search and paging with 1,000,000 contacts in one workspace, through the public API.

    .venv/bin/python -m bench.contacts_search [--contacts 1000000] [--requests 40]

Creates the workspace `bench-search` with the `tenant_create` service, fills it set-wise in
SQL (the search indexes are in place while it fills, as in production), calls
`GET /api/v1/public/contacts?search=…` and `?page=N` with a real API key through Django's full
request stack (middleware, authentication, rate limits, serializer; in-process, so without
network and WSGI server time), prints p50/p95, checks with EXPLAIN that searches use the
indexes, and drops the workspace afterwards. A search's first request is shown on its own: it
pays the count that the next requests for the same term read from the cache (10 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bench._django import fill_contacts, record, setup

SEARCHES = {
    "first + last name (2 words)": "priya iyer",
    "company (20 matches)": "company 12345",
    "e-mail fragment (unique)": "user.777777@",
    "phone prefix (100 matches)": "+9197001234",
    "common first name (5%)": "anurag",
    "no match": "zzqqxx",
}
PAGES = [1, 2, 10, 100, 1000, 10000, 50000]


def timed(client, url: str, n: int) -> tuple[list[float], dict]:
    times, body = [], {}
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        body = response.json()
    return times, body


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the workspace for a re-run")
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.test import Client

    from apps.apikeys.services import api_key_create
    from apps.contacts.selectors import ContactFilters, contact_list
    from apps.tenancy.models import Tenant
    from apps.tenancy.plans import Plan
    from apps.tenancy.services import tenant_create

    slug = "bench-search"
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        tenant = tenant_create(slug=slug, name="Search bench", plan=Plan.ENTERPRISE)
    connection.set_tenant(tenant)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contacts_contact")
        present = cursor.fetchone()[0]
        fill_seconds = None
        if present < args.contacts:
            cursor.execute("TRUNCATE contacts_contact CASCADE")
            started = time.perf_counter()
            fill_contacts(cursor, args.contacts, companies=50_000, tag="bench")
            fill_seconds = time.perf_counter() - started

    plans = {}
    for label, term in SEARCHES.items():
        sql, params = contact_list(filters=ContactFilters(search=term)).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql} LIMIT 20", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        plans[label] = "Seq Scan" not in plan
    connection.set_schema_to_public()

    _, secret = api_key_create(tenant=tenant, name="bench", scopes=["contacts:read"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    base = "/api/v1/public/contacts"
    timed(client, f"{base}?limit=20", 5)  # warm-up: connections, caches

    lines = [
        f"{args.contacts:,} contacts in one workspace"
        + (f" (filled in {fill_seconds:.0f} s)" if fill_seconds else "")
        + f"; {args.requests} requests per URL, in-process through the full API stack"
    ]
    for label, term in SEARCHES.items():
        times, body = timed(client, f"{base}?search={term.replace('+', '%2B')}", args.requests)
        lines.append(
            f"search {label}: p50 {p(times, 50):.1f} ms, p95 {p(times, 95):.1f} ms "
            f"(first request {times[0]:.1f} ms), {body['pagination']['total_items']:,} matches; "
            f"index scan: {'yes' if plans[label] else 'NO (seq scan)'}"
        )
    for page in PAGES:
        times, body = timed(client, f"{base}?page={page}&limit=20", args.requests)
        assert body["data"], page
        lines.append(f"page {page:,} (offset {(page - 1) * 20:,}): p50 {p(times, 50):.1f} ms, "
                     f"p95 {p(times, 95):.1f} ms")  # fmt: skip
    connection.set_tenant(tenant)
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("SELECT count(*) FROM contacts_contact WHERE archived_at IS NULL")
        count_ms = (time.perf_counter() - started) * 1000
    lines.append(f"the exact total count alone (every unfiltered page pays it): {count_ms:.0f} ms")
    lines.append("target: p95 under 50 ms for search and the first pages")
    lines.append(
        "load average at the end (1/5/15 min; other processes share the 2 cores): "
        + " / ".join(f"{value:.1f}" for value in os.getloadavg())
    )
    record(
        "Contacts search and paging (1M contacts)",
        f"python -m bench.contacts_search --contacts {args.contacts} --requests {args.requests}",
        lines,
    )
    connection.set_schema_to_public()
    if not args.keep:
        Tenant.objects.get(slug=slug).delete(force_drop=True)


if __name__ == "__main__":
    main()
