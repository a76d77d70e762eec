"""Meta's webhook receiver under load: status callbacks per second accepted by ONE web process
(gunicorn) and processed by ONE Celery worker, and the lag from receipt to the updated message.

    .venv/bin/python -m bench.meta_webhooks [--messages 10000] [--concurrency 32] [--campaign]

A throwaway workspace `bench-meta` gets a sandbox WhatsApp account (so its phone number id
routes) and N sent messages; the load generator then posts 3 signed callbacks per message
(sent, delivered, read: one status per callback, as Meta usually sends them) to
/webhooks/whatsapp as fast as the web process answers, over `--concurrency` keep-alive
connections (requests built and signed beforehand; a plain selector loop, no HTTP library).
With `--campaign` every message belongs to one running campaign (a recipient row each, already
`sent`, as the dispatcher leaves them), so each status change also moves the recipient and the
campaign's counters. The worker drains concurrently. Figures: accepted callbacks/s (first POST
to last 200), processed callbacks/s (first receipt to last processing), lag receipt -> processed
(p50/p95/max, from the rows' own timestamps), the time from the last POST until every
message reads `read`, and the CPU seconds each process spent (load generator, gunicorn,
Celery, PostgreSQL backends, Redis; the rest of the machine's busy time is other work), in
total and per callback.
Broker and nudge key use their own Redis database, so no other worker takes the tasks.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench._django import record, setup
from bench._profiling import redis_url_with_db
from bench.load import CpuGroup, _machine_busy, _tree

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-meta"
SECRET = "bench-meta-app-secret"
# Set on the server and worker processes (libpq reads it), so their PostgreSQL backends can
# be told apart from any other connection to the same database when CPU is counted.
APP_NAME = "lynkist-bench-meta"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def _bodies(wamids: list[str], phone_number_id: str) -> list[tuple[bytes, str]]:
    now = int(time.time())
    bodies = []
    for step, status in enumerate(("sent", "delivered", "read")):
        for wamid in wamids:
            payload = {
                "object": "whatsapp_business_account",
                "entry": [{"id": "bench-waba", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550000000",
                                 "phone_number_id": phone_number_id},
                    "statuses": [{"id": wamid, "status": status, "timestamp": str(now + step),
                                  "recipient_id": "919999999999"}],
                }}]}],
            }  # fmt: skip
            body = json.dumps(payload).encode()
            signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            bodies.append((body, signature))
    return bodies


def _requests(port: int, bodies: list[tuple[bytes, str]]) -> list[bytes]:
    """Each callback as the complete HTTP/1.1 request Meta would send, built before the timed
    phase so that the generator spends its CPU on sending, not on building or signing."""
    return [
        (
            f"POST /webhooks/whatsapp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nX-Hub-Signature-256: {signature}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for body, signature in bodies
    ]


class _Connection:
    """One keep-alive connection with at most one request in flight (as Meta sends them)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.request = b""
        self.buffer = b""

    def response(self) -> int | None:
        """The status of the complete response in the buffer (consumed), else None."""
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = self.buffer[:head_end].lower()
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line.startswith(b"content-length:"):
                length = int(line[15:])
        if len(self.buffer) < head_end + 4 + length:
            return None
        self.buffer = self.buffer[head_end + 4 + length :]
        return int(head[9:12])


def _post_all(port: int, requests: list[bytes], concurrency: int) -> list[int]:
    """Send every request over `concurrency` keep-alive connections from one thread, with a
    plain selector: an HTTP client library cost several times the CPU per request, on the
    cores the server under test needs. A connection the server closes is reopened and its
    request sent again (the receiver is idempotent, and the status counted is the answer's)."""
    import selectors

    statuses: list[int] = []
    queue = iter(requests)
    selector = selectors.DefaultSelector()

    def send_next(conn: _Connection) -> None:
        request = next(queue, None)
        if request is None:
            selector.unregister(conn.sock)
            conn.sock.close()
            return
        conn.request = request
        conn.sock.sendall(request)

    def reopen(conn: _Connection) -> None:
        selector.unregister(conn.sock)
        conn.sock.close()
        fresh = _Connection(port)
        fresh.request = conn.request
        selector.register(fresh.sock, selectors.EVENT_READ, fresh)
        fresh.sock.sendall(fresh.request)

    for _ in range(concurrency):
        conn = _Connection(port)
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        send_next(conn)
    while selector.get_map():
        for key, _ in selector.select():
            conn = key.data
            try:
                chunk = conn.sock.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionError:
                chunk = b""
            if not chunk:
                reopen(conn)
                continue
            conn.buffer += chunk
            status = conn.response()
            if status is not None:
                statuses.append(status)
                send_next(conn)
    return statuses


def _messages_create(wamids: list[str], campaign: Any | None) -> None:
    """Sent messages of the current workspace, each with a `sent` recipient of `campaign` if
    one is given (the campaign's total and `sent_count` follow, as after dispatch)."""
    import uuid

    from django.db.models import F
    from django.utils import timezone

    from apps.campaigns.models import Campaign, CampaignRecipient
    from apps.messaging.models import Message

    recipients: dict[str, uuid.UUID] = {}
    if campaign is not None:
        recipients = {w: uuid.uuid4() for w in wamids}
        now = timezone.now()
        CampaignRecipient.objects.bulk_create(
            (
                CampaignRecipient(id=recipients[w], campaign_id=campaign.pk,
                                  phone=w.removeprefix("wamid."), status="sent", wamid=w,
                                  sent_at=now)
                for w in wamids
            ),
            batch_size=5000,
        )  # fmt: skip
        Campaign.objects.filter(pk=campaign.pk).update(
            total_recipients=F("total_recipients") + len(wamids),
            sent_count=F("sent_count") + len(wamids),
        )
    Message.objects.bulk_create(
        (
            Message(direction="outbound", wamid=w, phone="+919999999999", kind="template",
                    template_name="welcome", status="accepted", status_rank=1,
                    campaign_id=campaign.pk if campaign is not None else None,
                    campaign_recipient_id=recipients.get(w))
            for w in wamids
        ),
        batch_size=5000,
    )  # fmt: skip


def _campaign_create() -> Any:
    from apps.campaigns.models import Campaign
    from apps.message_templates.models import MessageTemplate

    template = MessageTemplate.objects.create(
        name="welcome", language="en_US", category="UTILITY", status="APPROVED",
        components=[{"type": "BODY", "text": "Hello"}],
    )  # fmt: skip
    return Campaign.objects.create(name="bench", template=template, status="RUNNING")


def _pg_pids() -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [APP_NAME])
        return [row[0] for row in cursor.fetchall()]


def _redis_pid(url: str) -> int | None:
    import redis

    try:
        return int(redis.Redis.from_url(url).info("server")["process_id"])
    except (redis.RedisError, KeyError, ValueError):
        return None


class CpuWindow:
    """CPU seconds of each process of the bench between `start()` and `stop()`."""

    def __init__(self, *, server: int, worker: int, redis_pid: int | None) -> None:
        self.pids = {
            "generator": lambda: [os.getpid()],
            "gunicorn": lambda: _tree(server),
            "celery": lambda: _tree(worker),
            "postgres": _pg_pids,
            "redis": lambda: [redis_pid] if redis_pid else [],
        }
        self.groups = {name: CpuGroup(name) for name in self.pids}
        self.machine = (0.0, 0.0)

    def start(self) -> None:
        for name, group in self.groups.items():
            group.snapshot(self.pids[name](), first=True)
        self.machine = _machine_busy()

    def stop(self) -> None:
        busy, total = _machine_busy()
        self.machine = (busy - self.machine[0], total - self.machine[1])
        for name, group in self.groups.items():
            group.snapshot(self.pids[name](), first=False)

    def line(self, count: int) -> str:
        seconds = {name: group.seconds() for name, group in self.groups.items()}
        other = max(self.machine[0] - sum(seconds.values()), 0.0)
        parts = ", ".join(
            f"{name} {value:.1f} s ({value / count * 1e6:,.0f} µs)"
            for name, value in [*seconds.items(), ("other work", other)]
        )
        return (
            f"CPU from the first POST until every message read, per callback in brackets: "
            f"{parts}; machine busy {self.machine[0]:.1f} of {self.machine[1]:.1f} core-s"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--gunicorn-threads", type=int, default=1)
    parser.add_argument("--backlog", type=int, default=5000, help="messages for phase 2")
    parser.add_argument(
        "--campaign", action="store_true", help="the messages belong to a running campaign"
    )
    args = parser.parse_args()
    setup()
    from django.conf import settings
    from django.db import connection
    from django_tenants.utils import schema_context

    from apps.messaging.callbacks.models import MetaCallback
    from apps.messaging.models import Message
    from apps.tenancy.models import Tenant
    from apps.tenancy.plans import Plan
    from apps.tenancy.services import tenant_create
    from apps.whatsapp.services import whatsapp_account_connect_sandbox

    stale = Tenant.objects.filter(slug=SLUG).first()
    if stale:
        stale.delete(force_drop=True)
    tenant = tenant_create(slug=SLUG, name=SLUG, plan=Plan.ENTERPRISE)
    with schema_context(tenant.schema_name):
        account = whatsapp_account_connect_sandbox(tenant=tenant, actor=None)
        campaign = _campaign_create() if args.campaign else None
        wamids = [f"wamid.BENCH{n:08d}" for n in range(args.messages)]
        _messages_create(wamids, campaign)
    MetaCallback.objects.all().delete()
    bodies = _bodies(wamids, account.phone_number_id)

    redis_url = redis_url_with_db(settings.REDIS_URL, 14)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = {
        **os.environ,
        "DEBUG": "false",
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": redis_url,
        "META_APP_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "PGAPPNAME": APP_NAME,
    }
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    server_cmd = [str(bin_dir / "gunicorn"), "lynkist.wsgi:application",
                  "--bind", f"127.0.0.1:{port}", "--workers", "1", "--log-level", "warning",
                  "--backlog", "2048"]  # fmt: skip
    if args.gunicorn_threads > 1:
        server_cmd += ["--worker-class", "gthread", "--threads", str(args.gunicorn_threads)]
    requests = _requests(port, bodies)
    server = subprocess.Popen(server_cmd, cwd=ROOT, env=env)
    worker = subprocess.Popen(
        [str(bin_dir / "celery"), "-A", "lynkist", "worker", "--pool", "solo",
         "--concurrency", "1", "--loglevel", "WARNING", "--without-heartbeat",
         "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        _wait_for(port, server)
        time.sleep(3)  # the worker connects to the broker
        cpu = CpuWindow(server=server.pid, worker=worker.pid, redis_pid=_redis_pid(redis_url))
        cpu.start()
        started = time.perf_counter()
        statuses = _post_all(port, requests, args.concurrency)
        posted = time.perf_counter() - started
        deadline = time.perf_counter() + 600
        while time.perf_counter() < deadline:
            with schema_context(tenant.schema_name):
                left = Message.objects.exclude(status="read").count()
            if not left:
                break
            time.sleep(0.05)
        all_read = time.perf_counter() - started - posted
        cpu.stop()
    finally:
        server.terminate()
        worker.terminate()
        server.wait(timeout=30)
        worker.wait(timeout=60)

    rows = list(MetaCallback.objects.values_list("received_at", "processed_at"))

    # Phase 2: the worker's own capacity. A backlog of stored callbacks (3 per message) is
    # drained by this process exactly as the worker's task does, with nothing else running.
    from apps.messaging.callbacks_drain import callbacks_drain

    MetaCallback.objects.all().delete()
    with schema_context(tenant.schema_name):
        backlog_wamids = [f"wamid.BACKLOG{n:08d}" for n in range(args.backlog)]
        _messages_create(backlog_wamids, campaign)
    MetaCallback.objects.bulk_create(
        (MetaCallback(body=body) for body, _ in _bodies(backlog_wamids, account.phone_number_id)),
        batch_size=5000,
    )
    drain_started = time.perf_counter()
    drained = callbacks_drain()
    drain_seconds = time.perf_counter() - drain_started
    with schema_context(tenant.schema_name):
        backlog_unread = Message.objects.filter(wamid__in=backlog_wamids).exclude(status="read")
        backlog_unread = backlog_unread.count()
        stats_line = ""
        if campaign is not None:
            from apps.campaigns.services import campaign_refresh_metrics

            campaign.refresh_from_db()
            live = campaign.stats
            recount = campaign_refresh_metrics(campaign=campaign).stats
            stats_line = (
                f"campaign counters after both phases: {live} "
                f"({'equal to' if live == recount else 'DIFFERENT from'} a recount)"
            )
    lags = sorted((done - got).total_seconds() for got, done in rows if done)
    first = min(got for got, _ in rows)
    last_done = max(done for _, done in rows if done)
    processed_rate = len(lags) / (last_done - first).total_seconds()
    with schema_context(tenant.schema_name):
        unread = Message.objects.exclude(status="read").count()
    connection.set_schema_to_public()
    MetaCallback.objects.all().delete()
    Tenant.objects.get(slug=SLUG).delete(force_drop=True)

    def q(values: list[float], pct: int) -> float:
        return statistics.quantiles(values, n=100)[pct - 1]

    ok = sum(1 for s in statuses if s == 200)
    record(
        "Meta webhook receiver (status callbacks)",
        f"python -m bench.meta_webhooks --messages {args.messages} "
        f"--concurrency {args.concurrency} --gunicorn-threads {args.gunicorn_threads}"
        + (" --campaign" if args.campaign else ""),
        [
            f"{len(bodies)} signed callbacks (1 status each) for {args.messages} messages; "
            f"one gunicorn process ({'gthread x' + str(args.gunicorn_threads) if args.gunicorn_threads > 1 else 'sync'}), "  # noqa: E501
            + (
                "every message belongs to one running campaign (a `sent` recipient each); "
                if args.campaign
                else ""
            )
            + "one Celery worker (solo pool); load generator (one thread, pre-signed requests on "
            f"{args.concurrency} keep-alive connections), PostgreSQL and Redis on the same "
            "machine",
            f"accepted: {ok}/{len(statuses)} answered 200 in {posted:.1f} s = "
            f"**{ok / posted:,.0f} callbacks/s**",
            f"processed: {len(lags)} callbacks, **{processed_rate:,.0f} callbacks/s** "
            "(first receipt to last processing, concurrent with the load)",
            f"lag receipt -> message updated: p50 {q(lags, 50):.2f} s, p95 {q(lags, 95):.2f} s, "
            f"max {lags[-1]:.2f} s",
            f"every message `read` {all_read:.2f} s after the last POST; "
            f"messages not read at the end: {unread}",
            cpu.line(len(bodies)),
            f"worker capacity (phase 2, a stored backlog drained by one process): {drained} "
            f"callbacks in {drain_seconds:.1f} s = **{drained / drain_seconds:,.0f} "
            f"callbacks/s**; messages not read after it: {backlog_unread}",
            *([stats_line] if stats_line else []),
            f"machine load average at the end (1/5 min): {os.getloadavg()[0]:.1f} / "
            f"{os.getloadavg()[1]:.1f} (other work shares these {os.cpu_count()} cores)",
        ],
    )


if __name__ == "__main__":
    main()
