"""Load: mixed public-API traffic at a constant arrival rate against gunicorn (issue #9).

    .venv/bin/python -m bench.load [--contacts 100000] [--rate 300] [--duration 60]
        [--warmup 10] [--workers 5] [--mix list=30,search=20,create=15,send=20,stats=15]
        [--profile] [--no-record]

What it starts, all of it its own and all of it stopped and dropped at the end:
- a fresh database `lynkist_bench_load` on the configured PostgreSQL (DATABASE_URL) or the
  embedded one, migrated with `migrate_schemas`; Redis database 5 of the configured (or
  embedded) Redis for the cache, rate limits and the Celery broker, flushed before and after;
- one workspace `bench-load` on the enterprise plan with its per-minute and per-day limits
  lifted (as tests/security/test_api_fuzz.py does), a sandbox WhatsApp account and the demo's
  approved templates, N contacts filled set-wise in SQL (the search indexes in place, as in
  production), a group, and campaigns sent through the sandbox before the load so their
  stats are real; an `lk_sk_test_` key with every scope, so every send goes to the sandbox;
- `gunicorn lynkist.wsgi` with --workers web processes and one Celery worker (solo pool), so
  sends, the sandbox's status reports and events are processed while the load runs.

Traffic (the mix's weights, per request drawn at random with a fixed seed):
- list:   GET  /contacts?page=P&limit=20 (page 1 mostly, sometimes 2-10, some with a status)
- search: POST /contacts/search {"search_term": a first name, full name, company, phone
          prefix or e-mail fragment}
- create: POST /contacts with a unique phone
- send:   POST /messages/template (order_confirmation, two body parameters) to a contact
- stats:  GET  /campaigns/{id} (the campaign object with its stats funnel)

Open model: request i is due at start + i / rate whatever happened to the previous ones, and
its latency runs from that due time to the end of its response, so a stalled server cannot
hide its tail by slowing the generator down (coordinated omission). Why a small generator of
its own rather than locust: locust's users are a closed loop (each waits for its response
before its `wait_time`; `constant_throughput` only paces a user, it does not start requests
on a schedule), so it needs a custom arrival shape plus many users to approximate an open
model, and it would add gevent and a second event loop to the project. Here each request is
its own asyncio task started at its due time, on uvloop when installed, through the small
keep-alive client of bench/_http.py (a third of aiohttp's CPU per request: the generator
shares the 2 cores with the server). Connections are kept alive and reused with gunicorn's
threaded workers (`--threads` > 1), as an integrator's HTTP client does; gunicorn's sync
workers close them, so then each request opens its own. The generator's own CPU is not
free on 2 cores: the bench measures and prints it beside the server's.

Figures: requests/s offered and achieved, errors (every non-2xx and every transport error,
by status), p50/p95/p99/max per endpoint and overall, how late the generator itself started
requests, the web and worker processes, and CPU seconds used during the measured window by
the load generator, the gunicorn processes, the Celery worker, the PostgreSQL server (every
process of it, sampled twice a second so that connections ending during the window count)
and Redis, beside the whole machine's busy CPU (other work included).
`--profile` then runs the endpoint with the worst p95 in-process under cProfile and prints
the functions with the most cumulative time, plus SQL queries and SQL time per request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import itertools
import json
import os
import pstats
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

try:
    import uvloop
except ImportError:  # the dev extras bring it; asyncio's own loop works, at more CPU
    uvloop = None

from bench._profiling import CLK_TCK, ROOT, proc_cpu, proc_stat, profile_rows, redis_url_with_db

SLUG = "bench-load"
DB_NAME = "lynkist_bench_load"
REDIS_DB = 5
API = "/api/v1/public"
DEFAULT_MIX = "list=30,search=20,create=15,send=20,stats=15"
ENDPOINTS = {
    "list": "GET /contacts",
    "search": "POST /contacts/search",
    "create": "POST /contacts",
    "send": "POST /messages/template",
    "stats": "GET /campaigns/{id}",
}
# Every contact the bench creates gets the next number, whichever Traffic builds it.
_CREATED = itertools.count(1)


# ------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _with_db_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted `values`."""
    if not values:
        return float("nan")
    rank = max(1, int(-(-q * len(values) // 100)))  # ceil
    return values[min(rank, len(values)) - 1]


def _parse_mix(text: str) -> dict[str, int]:
    mix = {}
    for item in text.split(","):
        name, _, weight = item.partition("=")
        name = name.strip()
        if name not in ENDPOINTS:
            raise SystemExit(f"--mix: unknown kind {name!r} (known: {', '.join(ENDPOINTS)})")
        mix[name] = int(weight)
    if not any(mix.values()):
        raise SystemExit("--mix: every weight is 0")
    return mix


# ------------------------------------------------------------------------------------------
# CPU accounting from /proc (Linux)
# ------------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    return found


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, every core summed."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user
    return (total - idle) / CLK_TCK, total / CLK_TCK


@dataclass
class CpuGroup:
    """CPU seconds of a set of processes between two snapshots (pids may come and go)."""

    name: str
    start: dict[int, float] = field(default_factory=dict)
    end: dict[int, float] = field(default_factory=dict)

    def snapshot(self, pids: list[int], *, first: bool) -> None:
        target = self.start if first else self.end
        for pid in pids:
            value = proc_cpu(pid)
            if value is not None:
                target[pid] = value

    def seconds(self) -> float:
        # A process that started during the window counts from 0; one that ended is lost
        # (gunicorn and Celery keep theirs; PostgreSQL backends are persistent connections).
        return sum(value - self.start.get(pid, 0.0) for pid, value in self.end.items())


class CpuSampler:
    """Snapshots every group's processes when entered, then every half second and on exit
    from a thread, so a process that ends during the window (a database connection past its
    CONN_MAX_AGE) still counts up to its last sample."""

    INTERVAL = 0.5

    def __init__(self, groups: dict[str, CpuGroup], pids: dict) -> None:
        self.groups, self.pids = groups, pids
        self.seen: dict[str, set[int]] = {key: set() for key in groups}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, *, first: bool) -> None:
        for key, group in self.groups.items():
            current = self.pids[key]()
            self.seen[key].update(current)
            group.snapshot(current, first=first)

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            self._sample(first=False)

    def __enter__(self) -> CpuSampler:
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample(first=False)


def _parent_pid(pid: int) -> int | None:
    fields = proc_stat(pid)  # None: a server on another machine, whose CPU is not ours
    return None if fields is None else int(fields[1])


def _redis_server_pid(url: str) -> int | None:
    """The Redis server's process, when it runs on this machine."""
    import redis

    try:
        pid = int(redis.Redis.from_url(url).info("server")["process_id"])
    except (redis.RedisError, KeyError, ValueError):
        return None
    return pid if proc_cpu(pid) is not None else None


# ------------------------------------------------------------------------------------------
# The stack
# ------------------------------------------------------------------------------------------
class Stack:
    """The bench's database, Redis database, gunicorn and Celery worker."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.base_db_url = ""
        self.db_url = ""
        self.redis_url = ""
        self.port = _free_port()
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.db_created = False

    # -- database and Redis, before Django is set up in this process --
    def create_database(self) -> None:
        import psycopg

        from lynkist import embedded

        self.base_db_url = os.environ.get("DATABASE_URL") or embedded.postgres_url()
        redis_base = os.environ.get("REDIS_URL") or embedded.redis_url()
        self.db_url = _with_db_name(self.base_db_url, DB_NAME)
        self.redis_url = redis_url_with_db(redis_base, REDIS_DB)
        with psycopg.connect(self.base_db_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')  # a stale run
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        self.db_created = True
        self._flush_redis()

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lynkist.settings.local",
            "DEBUG": "false",
            "DATABASE_URL": self.db_url,
            "REDIS_URL": self.redis_url,
            "LOG_LEVEL": "WARNING",
            # WhiteNoise's note that collectstatic never ran: the API serves no static file.
            "PYTHONWARNINGS": "ignore:No directory at",
        }

    def migrate(self) -> float:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "manage.py", "migrate_schemas", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=self.env(),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - started

    def _flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()

    # -- processes --
    def start(self) -> None:
        bin_dir = Path(sys.executable).parent
        web_cmd = [
            str(bin_dir / "gunicorn"), "lynkist.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.args.workers),
            "--backlog", "4096",
            "--log-level", "warning",
            "--timeout", "60",
        ]  # fmt: skip
        if self.args.threads > 1:
            # Idle connections are kept 75 s, as bin/run's Procfile does (the client keeps
            # them for the whole run): a connection the server closes just as the client
            # reuses it loses that request (2 of 8,000 at 200 requests/s with gunicorn's 2 s).
            web_cmd += ["--worker-class", "gthread", "--threads", str(self.args.threads)]
            web_cmd += ["--keep-alive", "75"]
        self.web = subprocess.Popen(web_cmd, cwd=ROOT, env=self.env(), start_new_session=True)
        self.worker = subprocess.Popen(
            [str(bin_dir / "celery"), "--quiet", "-A", "lynkist", "worker", "--pool", "solo",
             "--concurrency", "1", "--loglevel", "WARNING", "--without-heartbeat",
             "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=self.env(), start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise SystemExit("gunicorn exited during start-up")
            if self.worker.poll() is not None:
                raise SystemExit("the Celery worker exited during start-up")
            try:
                url = f"http://127.0.0.1:{self.port}/readyz"
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not become ready within 90 s")

    def settle(self, limit: float = 120.0) -> float:
        """Wait until the web processes answer a probe promptly: requests a client gave up
        on stay in gunicorn's backlog and are still served, so an overloaded warm-up would
        spill into the measured window."""
        started = time.monotonic()
        while time.monotonic() - started < limit:
            probe = time.monotonic()
            try:
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=limit):
                    pass
            except OSError:
                time.sleep(0.2)
                continue
            if time.monotonic() - probe < 0.5:
                break
        return time.monotonic() - started

    def web_pids(self) -> list[int]:
        return _tree(self.web.pid) if self.web else []

    def worker_pids(self) -> list[int]:
        return _tree(self.worker.pid) if self.worker else []

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (self.web, self.worker):
            if process is None:
                continue
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in _tree(process.pid)[::-1]:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                process.wait(timeout=10)

    def drop(self) -> None:
        if not self.db_created:
            return
        import psycopg

        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django never set up: nothing to close
            pass
        with psycopg.connect(self.base_db_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        self.db_created = False
        self._flush_redis()


# ------------------------------------------------------------------------------------------
# Seeding (in this process, Django set up against the bench database)
# ------------------------------------------------------------------------------------------
@dataclass
class Seeded:
    secret: str
    schema: str
    contacts: int
    campaign_ids: list[str]
    first_names: list[str]
    last_names: list[str]
    seconds: dict[str, float]


def seed(args: argparse.Namespace) -> Seeded:
    from django.db import connection
    from django_tenants.utils import schema_context

    from apps.apikeys.scopes import ALL_SCOPES
    from apps.apikeys.services import api_key_create
    from apps.campaigns import services as campaign_services
    from apps.contacts.demo import FIRST, LAST
    from apps.contacts.models import Group
    from apps.message_templates.demo import seed_whatsapp_demo
    from apps.message_templates.models import MessageTemplate
    from apps.tenancy.models import Tenant
    from apps.tenancy.plans import Plan
    from apps.tenancy.services import tenant_create
    from bench._django import fill_contacts

    seconds = {}
    started = time.perf_counter()
    tenant = tenant_create(slug=SLUG, name="Load bench", plan=Plan.ENTERPRISE)
    # Lift the limits: the bench's own traffic must never turn into 429s.
    Tenant.objects.filter(pk=tenant.pk).update(
        custom_requests_per_minute=1_000_000_000, custom_requests_per_day=2_000_000_000
    )
    seed_whatsapp_demo(tenant=tenant)  # sandbox account + approved templates
    _, secret = api_key_create(tenant=tenant, name="load", scopes=ALL_SCOPES, mode="test")
    seconds["workspace"] = time.perf_counter() - started

    started = time.perf_counter()
    with schema_context(tenant.schema_name):
        with connection.cursor() as cursor:
            fill_contacts(cursor, args.contacts, companies=5_000, tag="load")
        group = Group.objects.create(name="Load audience")
        with connection.cursor() as cursor:
            # The oldest contacts whose numbers the sandbox treats normally (not 0001-0004).
            cursor.execute(
                "INSERT INTO contacts_groupmember (group_id, contact_id, added_at)"
                " SELECT %s, id, now() FROM contacts_contact"
                " WHERE right(phone, 4) NOT IN ('0001','0002','0003','0004')"
                " ORDER BY created_at LIMIT %s",
                [group.pk, args.campaign_recipients],
            )
            cursor.execute("ANALYZE contacts_groupmember")
    seconds["contacts"] = time.perf_counter() - started

    campaign_ids = []
    with schema_context(tenant.schema_name):
        template = MessageTemplate.objects.get(name="order_confirmation", language="en_US")
        for n in range(args.campaigns):
            campaign = campaign_services.campaign_create(
                name=f"Load campaign {n + 1}",
                template=template,
                variable_mapping={
                    "body": {
                        "1": {"field": "first_name", "fallback": "there"},
                        "2": {"field": "custom_fields.order_id", "fallback": "A0"},
                    }
                },
                groups=[group.pk],
                send_mode="test",
                batch_size=100,
            )
            campaign_ids.append(str(campaign.pk))
    return Seeded(
        secret=secret,
        schema=tenant.schema_name,
        contacts=args.contacts,
        campaign_ids=campaign_ids,
        first_names=list(FIRST),
        last_names=list(LAST),
        seconds=seconds,
    )


def send_campaigns(seeded: Seeded, timeout: float) -> tuple[float, dict[str, str]]:
    """Start the campaigns (the Celery worker dispatches them through the sandbox) and wait
    until they end and the sandbox has reported every status of their messages, so that
    their stats are real numbers when the load reads them, and the worker's processing of
    those reports does not run into the measured window."""
    from django_tenants.utils import schema_context

    from apps.campaigns import services as campaign_services
    from apps.campaigns.models import TERMINAL_STATUSES, Campaign
    from apps.whatsapp.models import SandboxStatusReport

    started = time.perf_counter()
    with schema_context(seeded.schema):
        for campaign in Campaign.objects.filter(pk__in=seeded.campaign_ids):
            campaign_services.campaign_send_now(campaign=campaign, send_mode="test")
        while time.perf_counter() - started < timeout:
            statuses = dict(
                Campaign.objects.filter(pk__in=seeded.campaign_ids).values_list("pk", "status")
            )
            if (
                all(status in TERMINAL_STATUSES for status in statuses.values())
                and not SandboxStatusReport.objects.filter(reported_at__isnull=True).exists()
            ):
                break
            time.sleep(0.5)
    return time.perf_counter() - started, {str(k): v for k, v in statuses.items()}


# ------------------------------------------------------------------------------------------
# Traffic
# ------------------------------------------------------------------------------------------
class Traffic:
    """Builds the requests of the mix; deterministic for a given seed."""

    def __init__(self, seeded: Seeded, mix: dict[str, int], seed: int = 9) -> None:
        self.seeded = seeded
        self.rng = random.Random(seed)
        self.kinds = [k for k, w in mix.items() if w > 0]
        self.weights = [mix[k] for k in self.kinds]

    def _contact_number(self) -> int:
        n = self.rng.randrange(self.seeded.contacts)
        return n + 10 if 1 <= n % 10_000 <= 4 else n  # keep clear of the sandbox's failures

    def next(self) -> tuple[str, str, str, dict | None]:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        return (kind, *getattr(self, f"_{kind}")())

    def _list(self):
        rng = self.rng
        page = 1 if rng.random() < 0.7 else rng.randint(2, 10)
        query = f"page={page}&limit=20"
        if rng.random() < 0.25:
            query += "&status=" + rng.choice(["lead", "customer", "active"])
        return "GET", f"{API}/contacts?{query}", None

    def _search(self):
        rng, s = self.rng, self.seeded
        n = self._contact_number()
        term = rng.choice(
            [
                rng.choice(s.first_names),
                f"{rng.choice(s.first_names)} {rng.choice(s.last_names)}",
                f"company {rng.randrange(5000)}",
                f"+9197{n:08d}"[:11],
                f"user.{n}@",
            ]
        )
        return "POST", f"{API}/contacts/search?limit=20", {"search_term": term}

    def _create(self):
        n = next(_CREATED)
        first = self.rng.choice(self.seeded.first_names)
        return (
            "POST",
            f"{API}/contacts",
            {
                "first_name": first,
                "last_name": self.rng.choice(self.seeded.last_names),
                # +9198... never meets the seeded +9197... numbers.
                "phone": f"+9198{n:08d}",
                "email": f"{first.lower()}.load{n}@example.test",
                "company": "Load Corp",
                "tags": ["load", "api"],
                "custom_fields": {"order_id": f"L{n}"},
            },
        )

    def _send(self):
        n = self._contact_number()
        return (
            "POST",
            f"{API}/messages/template",
            {
                "to": f"+9197{n:08d}",
                "template_name": "order_confirmation",
                "language": "en_US",
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": self.rng.choice(self.seeded.first_names)},
                            {"type": "text", "text": f"ORD-{n}"},
                        ],
                    }
                ],
            },
        )

    def _stats(self):
        campaign_id = self.rng.choice(self.seeded.campaign_ids)
        return "GET", f"{API}/campaigns/{campaign_id}", None


@dataclass
class Result:
    kind: str
    due: float
    began: float
    ended: float
    status: int  # 0: no HTTP response (the error names it)
    error: str = ""


async def _drive(
    *,
    base: str,
    secret: str,
    traffic: Traffic,
    rate: float,
    seconds: float,
    timeout: float,
    keep_alive: bool,
) -> tuple[list[Result], float]:
    """Fire requests at a constant arrival rate for `seconds`; returns the results and the
    window's start (loop time)."""
    from bench._http import HttpClient, ResponseError

    loop = asyncio.get_running_loop()
    headers = {"Authorization": f"Bearer {secret}", "Accept": "application/json"}
    if not keep_alive:
        # gunicorn's sync workers close every connection after its response anyway.
        headers["Connection"] = "close"
    results: list[Result] = []
    address = urlsplit(base)
    client = HttpClient(address.hostname, address.port, headers, timeout)
    try:

        async def fire(kind: str, method: str, path: str, body: dict | None, due: float):
            began = loop.time()
            try:
                status, payload = await client.request(method, path, body)
                error = "" if 200 <= status < 300 else payload[:200].decode(errors="replace")
            except TimeoutError:
                status, error = 0, "timeout"
            except (OSError, ResponseError) as exc:
                status, error = 0, type(exc).__name__
            results.append(Result(kind, due, began, loop.time(), status, error))

        interval = 1.0 / rate
        total = int(rate * seconds)
        start = loop.time() + 0.05
        pending: set[asyncio.Task] = set()
        for i in range(total):
            due = start + i * interval
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(fire(*traffic.next(), due))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending)
    finally:
        client.close()
    return results, start


def _run(coroutine):
    """Run on uvloop's event loop when it is installed (dev extras): it halves the client's
    CPU per request against asyncio's own loop (see bench/_http.py)."""
    if uvloop is None:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def drive(stack: Stack, seeded: Seeded, traffic: Traffic, rate: float, seconds: float, timeout):
    return _run(
        _drive(
            base=f"http://127.0.0.1:{stack.port}",
            secret=seeded.secret,
            traffic=traffic,
            rate=rate,
            seconds=seconds,
            timeout=timeout,
            keep_alive=stack.args.threads > 1,
        )
    )


# ------------------------------------------------------------------------------------------
# Profile of one endpoint, in-process
# ------------------------------------------------------------------------------------------
def profile(seeded: Seeded, kind: str, requests: int, top: int) -> list[str]:
    """Run `kind` in-process through Django's full stack (test client: middleware, key
    authentication, rate limit, view, serializer; no network, no gunicorn): first plain, to
    measure wall time and SQL, then under cProfile. Prints the profile; returns summary lines."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    traffic = Traffic(seeded, {kind: 1}, seed=99)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {seeded.secret}")

    def call() -> None:
        _, method, path, body = traffic.next()
        data = json.dumps(body) if body is not None else ""
        response = client.generic(method, path, data=data, content_type="application/json")
        if not 200 <= response.status_code < 300:
            raise SystemExit(f"profile: {method} {path} answered {response.status_code}")

    for _ in range(10):  # warm imports, connections and caches
        call()
    # Pass 1, not profiled: wall time and SQL (cProfile would inflate the Python share).
    wall = 0.0
    queries: list[dict] = []
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call()
            wall += time.perf_counter() - started
        queries += captured.captured_queries
    sql = sum(float(q["time"]) for q in queries)
    by_statement: dict[str, list[float]] = defaultdict(list)
    for q in queries:
        by_statement[" ".join(q["sql"].split())[:110]].append(float(q["time"]))
    # Pass 2, profiled.
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())

    print(f"\n=== profile: {ENDPOINTS[kind]}, {requests} requests in-process ===")
    print("-- the project's own functions, by cumulative time --")
    _print_rows(profile_rows(stats, own_only=True, key="cumulative")[:top], stats.total_tt)
    print("-- every function, by own (internal) time --")
    _print_rows(profile_rows(stats, own_only=False, key="tottime")[:top], stats.total_tt)
    print("-- SQL statements by total time (pass 1) --")
    for statement, times in sorted(by_statement.items(), key=lambda kv: -sum(kv[1]))[:8]:
        print(
            f"{sum(times) / requests * 1000:8.2f} ms/request  x{len(times) / requests:.1f}  "
            f"{statement}"
        )
    shares = _by_package(stats)
    return [
        f"profile of {ENDPOINTS[kind]} in-process (Django test client: full "
        f"middleware and API stack, no network or gunicorn; {requests} requests on this "
        f"process, the server idle): {wall / requests * 1000:.1f} ms per request, "
        f"{len(queries) / requests:.1f} SQL queries and {sql / requests * 1000:.1f} ms in SQL "
        f"per request ({sql / wall * 100:.0f} % of the wall time)",
        "where the time goes (own time by package, under cProfile): "
        + ", ".join(f"{name} {share:.0f} %" for name, share in shares[:8]),
        "hot spots in the project's code (cumulative, % of the profiled time): "
        + "; ".join(
            f"{where} {cum / stats.total_tt * 100:.0f} %"
            for cum, _, _, where in [
                row
                for row in profile_rows(stats, own_only=True, key="cumulative")
                if not row[3].endswith("(__call__)")  # the middleware chain wraps everything
            ][:6]
        ),
    ]


def _print_rows(rows: list[tuple], total: float) -> None:
    print(f"{'cumulative':>12} {'own':>10} {'calls':>9}  function")
    for cumulative, tottime, calls, where in rows:
        print(
            f"{cumulative:9.3f} s {cumulative / total * 100:3.0f}% {tottime:8.3f} s "
            f"{calls:9d}  {where}"
        )


def _by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own time summed by where the code lives: a site-packages distribution, a project app,
    or C functions (socket waits, psycopg's wait loop, JSON, ...)."""
    totals: Counter[str] = Counter()
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        if filename == "~":
            group = "C functions (I/O waits included)"
        elif "site-packages/" in filename:
            group = filename.split("site-packages/", 1)[1].split("/", 1)[0]
        elif filename.startswith(str(ROOT)):
            group = "/".join(Path(filename).relative_to(ROOT).parts[:2])
        else:
            group = "Python standard library"
        totals[group] += tottime
    return [(group, t / stats.total_tt * 100) for group, t in totals.most_common()]


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------
def summarise(results: list[Result], start: float, rate: float, seconds: float) -> list[str]:
    lines = []
    ok = [r for r in results if 200 <= r.status < 300]
    last = max((r.ended for r in results), default=start)
    window = max(last - start, seconds)
    lines.append(
        f"offered {rate:,.0f} requests/s for {seconds:.0f} s ({len(results):,} requests); "
        f"achieved {len(ok) / window:,.1f} successful requests/s "
        f"({len(results) / window:,.1f} answered/s; last answer {last - start - seconds:+.2f} s "
        "after the schedule ended)"
    )
    errors = Counter(r.status for r in results if not 200 <= r.status < 300)
    if errors:
        by_kind = defaultdict(Counter)
        samples = {}
        for r in results:
            if not 200 <= r.status < 300:
                by_kind[r.status][ENDPOINTS[r.kind]] += 1
                samples.setdefault((r.status, r.kind), r.error)
        detail = "; ".join(
            f"{status or 'no response'}: {count} ("
            + ", ".join(f"{ep} {n}" for ep, n in by_kind[status].most_common())
            + ")"
            for status, count in errors.most_common()
        )
        lines.append(f"errors: {sum(errors.values())} ({detail})")
        for (status, kind), sample in list(samples.items())[:6]:
            lines.append(f"error sample: {status} {ENDPOINTS[kind]}: {sample[:160]!r}")
    else:
        lines.append("errors: 0 (every response 2xx)")

    def row(label: str, subset: list[Result]) -> str:
        lat = sorted((r.ended - r.due) * 1000 for r in subset)
        return (
            f"{label}: {len(subset):,} requests, p50 {_pct(lat, 50):.1f} ms, "
            f"p95 {_pct(lat, 95):.1f} ms, p99 {_pct(lat, 99):.1f} ms, max {lat[-1]:.1f} ms"
        )

    for kind, label in ENDPOINTS.items():
        subset = [r for r in results if r.kind == kind]
        if subset:
            lines.append(row(label, subset))
    lines.append(row("**all**", results))
    slices: dict[int, list[float]] = defaultdict(list)
    width = max(1, int(seconds // 6))  # about six slices, whole seconds
    for r in results:
        slices[int((r.due - start) // width)].append((r.ended - r.due) * 1000)
    lines.append(
        f"p95 by {width}-s slice of the schedule (a stall or a growing queue shows here): "
        + ", ".join(
            f"{i * width}-{(i + 1) * width} s {_pct(sorted(v), 95):.0f} ms"
            for i, v in sorted(slices.items())
        )
    )
    lag = sorted((r.began - r.due) * 1000 for r in results)
    lines.append(
        f"generator lateness (request started after its due time): p50 {_pct(lag, 50):.2f} ms, "
        f"p99 {_pct(lag, 99):.2f} ms, max {lag[-1]:.2f} ms (included in the latencies above)"
    )
    return lines


def worst_kind(results: list[Result]) -> str:
    by_kind = defaultdict(list)
    for r in results:
        by_kind[r.kind].append((r.ended - r.due) * 1000)
    return max(by_kind, key=lambda k: _pct(sorted(by_kind[k]), 95))


# ------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000, help="contacts seeded")
    parser.add_argument("--rate", type=float, default=300.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds, not measured")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=1, help=">1: gthread workers")
    parser.add_argument("--mix", default=DEFAULT_MIX, help=f"weights (default {DEFAULT_MIX})")
    parser.add_argument("--campaigns", type=int, default=2, help="campaigns whose stats are read")
    parser.add_argument("--campaign-recipients", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    parser.add_argument("--profile", action="store_true", help="profile the worst endpoint")
    parser.add_argument("--profile-requests", type=int, default=200)
    parser.add_argument(
        "--profile-endpoint", choices=list(ENDPOINTS), help="profile this one, not the worst"
    )
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    mix = _parse_mix(args.mix)
    if "stats" in mix and mix["stats"] and args.campaigns < 1:
        raise SystemExit("--mix reads campaign stats: --campaigns must be at least 1")

    sys.path.insert(0, str(ROOT))
    stack = Stack(args)
    lines: list[str] = []
    try:
        t0 = time.perf_counter()
        stack.create_database()
        migrate_seconds = stack.migrate()
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "lynkist.settings.local",
                "DEBUG": "false",
                "DATABASE_URL": stack.db_url,
                "REDIS_URL": stack.redis_url,
            }
        )
        from bench._django import record, setup

        setup()
        seeded = seed(args)
        print(
            f"database {DB_NAME} migrated in {migrate_seconds:.1f} s; workspace "
            f"{seeded.seconds['workspace']:.1f} s; {args.contacts:,} contacts seeded in "
            f"{seeded.seconds['contacts']:.1f} s",
            flush=True,
        )
        stack.start()
        web_pids, worker_pids = stack.web_pids(), stack.worker_pids()
        sent_seconds, statuses = send_campaigns(seeded, timeout=180)
        print(
            f"{args.campaigns} campaign(s) of {args.campaign_recipients} recipients sent "
            f"through the sandbox in {sent_seconds:.1f} s: {sorted(set(statuses.values()))}",
            flush=True,
        )
        traffic = Traffic(seeded, mix)
        if args.warmup > 0:
            print(f"warm-up: {args.warmup:.0f} s at {args.rate:.0f} requests/s", flush=True)
            warm, _ = drive(stack, seeded, traffic, args.rate, args.warmup, args.timeout)
            bad = Counter(r.status for r in warm if not 200 <= r.status < 300)
            if bad:
                print(f"warm-up errors (not counted): {dict(bad)}", flush=True)
            waited = stack.settle()
            if waited > 1:
                print(f"waited {waited:.1f} s for gunicorn's backlog to drain", flush=True)
        setup_seconds = time.perf_counter() - t0

        # The measured window: CPU of each group sampled around and during it.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            postmaster = _parent_pid(cursor.fetchone()[0])
        connection.close()  # this process stays off the database during the window
        redis_pid = _redis_server_pid(stack.redis_url)
        groups = {
            "web": CpuGroup("gunicorn"),
            "worker": CpuGroup("Celery worker"),
            "pg": CpuGroup("PostgreSQL"),
            "redis": CpuGroup("Redis"),
        }
        pids = {
            "web": stack.web_pids,
            "worker": stack.worker_pids,
            # The whole server: backends (gunicorn's connections are replaced every
            # CONN_MAX_AGE seconds, so some end during the window) and the WAL writer,
            # checkpointer and autovacuum that the load's writes keep busy.
            "pg": lambda: _tree(postmaster) if postmaster else [],
            "redis": lambda: [redis_pid] if redis_pid else [],
        }
        sampler = CpuSampler(groups, pids)
        machine_before = _machine_busy()
        self_before = os.times()
        load_before = os.getloadavg()
        print(f"measuring: {args.duration:.0f} s at {args.rate:.0f} requests/s", flush=True)
        with sampler:
            results, start = drive(stack, seeded, traffic, args.rate, args.duration, args.timeout)
            self_after = os.times()
            machine_after = _machine_busy()
        pg_processes = len(sampler.seen["pg"])
        load_after = os.getloadavg()

        window = max(r.ended for r in results) - start
        generator = (self_after.user - self_before.user) + (self_after.system - self_before.system)
        busy = machine_after[0] - machine_before[0]
        available = machine_after[1] - machine_before[1]
        lines += summarise(results, start, args.rate, args.duration)
        web_workers = len(web_pids) - 1
        lines.append(
            f"processes: {web_workers} gunicorn {'gthread x' + str(args.threads) if args.threads > 1 else 'sync'} "  # noqa: E501
            f"worker(s) + master, {len(worker_pids)} Celery worker process(es) (solo pool), "
            f"{pg_processes} PostgreSQL process(es) seen (the server's, backends included); "
            f"load generator: 1 process ({'uvloop' if uvloop else 'asyncio'} + bench/_http.py), "
            + ("keep-alive connections" if args.threads > 1 else "a new connection per request")
        )
        server_cpu = sum(groups[k].seconds() for k in ("web", "worker", "pg"))
        lines.append(
            f"CPU seconds over the {window:.1f} s window ({os.cpu_count()} cores = "
            f"{window * (os.cpu_count() or 1):.0f} core-s): load generator {generator:.1f} "
            f"({generator / window * 100:.0f} % of a core); server {server_cpu:.1f} = gunicorn "
            f"{groups['web'].seconds():.1f} + Celery {groups['worker'].seconds():.1f} + "
            f"PostgreSQL {groups['pg'].seconds():.1f}"
            + (f"; Redis {groups['redis'].seconds():.1f}" if redis_pid else "")
            + f"; whole machine busy {busy:.1f} of {available:.1f} core-s (other work "
            f"{max(busy - generator - server_cpu - groups['redis'].seconds(), 0):.1f})"
        )
        lines.append(
            f"seed: {args.contacts:,} contacts, {args.campaigns} sandbox campaign(s) of "
            f"{args.campaign_recipients} recipients; mix {args.mix}; warm-up {args.warmup:.0f} s; "
            f"set-up {setup_seconds:.0f} s; machine load average {load_before[0]:.1f} before, "
            f"{load_after[0]:.1f} after (1 min)"
        )
        overall = sorted((r.ended - r.due) * 1000 for r in results)
        errors = sum(1 for r in results if not 200 <= r.status < 300)
        p95 = _pct(overall, 95)
        lines.append(
            f"target (p95 under 100 ms at 300 requests/s, zero errors): p95 {p95:.1f} ms at "
            f"{args.rate:.0f} requests/s, {errors} errors: "
            + ("MET" if p95 < 100 and errors == 0 and args.rate >= 300 else "NOT MET")
        )
        if args.profile:
            kind = args.profile_endpoint or worst_kind(results)
            print(f"profiling {ENDPOINTS[kind]}", flush=True)
            lines += profile(seeded, kind, args.profile_requests, top=30)
        command = "python -m bench.load " + " ".join(sys.argv[1:])
        if args.no_record:
            print("\n".join(f"- {line}" for line in lines))
        else:
            record("Load (issue #9): mixed public-API traffic, open model", command, lines)
    finally:
        stack.stop()
        stack.drop()
        print("stopped gunicorn and the Celery worker; dropped the bench database", flush=True)


if __name__ == "__main__":
    main()
