"""The public API layer's per-request cost: `GET /api/v1/public/me` with a real key against a
plain Django view, on the same gunicorn, in the same run.

    .venv/bin/python -m bench.api_overhead [--requests 2000] [--concurrency 4]

Starts `gunicorn bench.api_overhead_wsgi` (the site plus the plain view) on loopback, on the
configured (or embedded) PostgreSQL and Redis, with a throwaway workspace `bench-api` (its
rate limits raised so they never refuse) and a live key; drops both afterwards.

Figures: latency p50/p90 over sequential requests (one connection per request, as gunicorn's
sync workers close them), the layer's cost = p50(/me) - p50(plain), requests per second with
several client threads, and the queries one /me request makes (counted in-process with the
same code path, since the server cannot report them).
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench._django import record, setup

SLUG = "bench-api"
# Under the public API's prefix, so that it passes through the same middleware as /me.
PLAIN = "/api/v1/public/bench-plain"
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, float]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": "127.0.0.1", **headers})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, time.perf_counter() - started


def _sequential(port: int, path: str, headers: dict[str, str], n: int) -> list[float]:
    timings = []
    for _ in range(n):
        status, elapsed = _get(port, path, headers)
        if status != 200:
            raise SystemExit(f"{path} answered {status}")
        timings.append(elapsed)
    return timings


def _throughput(port: int, path: str, headers: dict[str, str], n: int, threads: int) -> float:
    per_thread = n // threads
    errors: list[int] = []

    def work() -> None:
        for _ in range(per_thread):
            status, _ = _get(port, path, headers)
            if status != 200:
                errors.append(status)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{path}: {len(errors)} errors, e.g. {errors[0]}")
    return per_thread * threads / elapsed


def _wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            _get(port, "/healthz", {})
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def _queries_per_request(secret: str, n: int = 50) -> float:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.get("/api/v1/public/me")  # warm the connection
    with CaptureQueriesContext(connection) as queries:
        for _ in range(n):
            assert client.get("/api/v1/public/me").status_code == 200
    return len(queries) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    setup()
    from django.conf import settings
    from django.db import connection

    from apps.apikeys.services import api_key_create
    from apps.tenancy.models import Tenant
    from apps.tenancy.plans import Plan
    from apps.tenancy.services import tenant_create

    stale = Tenant.objects.filter(slug=SLUG).first()
    if stale:
        stale.delete(force_drop=True)
    tenant = tenant_create(slug=SLUG, name=SLUG, plan=Plan.ENTERPRISE)
    Tenant.objects.filter(pk=tenant.pk).update(
        custom_requests_per_minute=10**9, custom_requests_per_day=10**9
    )
    _, secret = api_key_create(tenant=tenant, name="bench", scopes=["contacts:read"])
    auth = {"Authorization": f"Bearer {secret}"}

    load_before = os.getloadavg()[0]
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "false",
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "bench.api_overhead_wsgi:application",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(args.workers),
            "--log-level", "warning",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        _wait_for(port, server)
        # Warm every worker's connections and imports.
        _sequential(port, "/api/v1/public/me", auth, 50)
        _sequential(port, PLAIN, {}, 50)
        # Interleave the two in small rounds, so that drift in the machine's load hits both alike.
        me, plain = [], []
        rounds = 20
        for _ in range(rounds):
            me += _sequential(port, "/api/v1/public/me", auth, args.requests // rounds)
            plain += _sequential(port, PLAIN, {}, args.requests // rounds)
        me_rps = _throughput(port, "/api/v1/public/me", auth, args.requests, args.concurrency)
        plain_rps = _throughput(port, PLAIN, {}, args.requests, args.concurrency)
    finally:
        server.terminate()
        server.wait(timeout=30)
    load_after = os.getloadavg()[0]
    queries = _queries_per_request(secret)
    connection.set_schema_to_public()
    Tenant.objects.get(slug=SLUG).delete(force_drop=True)

    def ms(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[int(q) - 1] * 1000

    p50_me, p50_plain = statistics.median(me) * 1000, statistics.median(plain) * 1000
    cost = p50_me - p50_plain
    record(
        "Public API layer overhead",
        f"python -m bench.api_overhead --requests {args.requests} "
        f"--concurrency {args.concurrency} --workers {args.workers}",
        [
            f"gunicorn, {args.workers} sync workers, loopback, new connection per request, "
            f"{args.requests} sequential requests per path (interleaved in {rounds} rounds); "
            f"machine load average {load_before:.1f} before, {load_after:.1f} after "
            f"({os.cpu_count()} cores: figures taken under load are inflated)",
            f"GET /api/v1/public/me (real live key): p50 {p50_me:.2f} ms, p90 {ms(me, 90):.2f} ms",
            f"plain Django view, same server: p50 {p50_plain:.2f} ms, p90 {ms(plain, 90):.2f} ms",
            f"layer cost per request (p50 difference): {cost:.2f} ms (target: under 1 ms) "
            f"{'MET' if cost < 1 else 'NOT MET'}",
            f"throughput, {args.concurrency} client threads: /me {me_rps:,.0f} requests/s, "
            f"plain {plain_rps:,.0f} requests/s",
            f"database queries per /me request: {queries:.1f} (target: at most 2) "
            f"{'MET' if queries <= 2 else 'NOT MET'} (each process caches the keys it has seen); "
            "Redis round trips: 1 (one script checks that the cached key is current, counts "
            "both rate-limit windows and records the key's last use)",
        ],
    )


if __name__ == "__main__":
    main()
