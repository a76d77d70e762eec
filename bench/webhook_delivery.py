"""Outgoing webhooks: deliveries per second from one worker to a receiver on loopback, alone
and with a dead endpoint (one that accepts connections and never answers) in the mix.

    .venv/bin/python -m bench.webhook_delivery [--events 5000]

Runs what one worker's `webhooks_process_tenant` task runs (`deliveries_send_due`: fan-out,
claiming, signing, sending, recording) in this process, against a throwaway workspace
`bench-webhooks` that is dropped afterwards. The receiver is an aiohttp server in a separate
process. Timed from the first claim to the last fast delivery recorded in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import time

from bench._django import record, setup

SLUG = "bench-webhooks"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(port: int) -> None:
    from aiohttp import web

    async def fast(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": True})

    async def dead(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response()

    app = web.Application()
    app.router.add_post("/fast", fast)
    app.router.add_post("/fast2", fast)
    app.router.add_post("/dead", dead)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=4096)


def _wait_for(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the receiver did not start")


def _run(tenant, base_url: str, *, events: int, neighbour: str | None) -> dict:
    from django.db.models import Max
    from django_tenants.utils import schema_context

    from apps.webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event
    from apps.webhooks.services.deliveries import deliveries_send_due
    from apps.webhooks.services.endpoints import endpoint_create

    with schema_context(tenant.schema_name):
        Endpoint.objects.all().delete()
        Event.objects.all().delete()
        fast = endpoint_create(tenant=tenant, actor=None, url=f"{base_url}/fast")
        if neighbour:
            endpoint_create(tenant=tenant, actor=None, url=f"{base_url}/{neighbour}")
        Event.objects.bulk_create(
            [Event(type="message.delivered", data={"id": f"m{n}", "status": "delivered"})
             for n in range(events)],
            batch_size=2000,
        )  # fmt: skip
        started_wall = time.time()
        started = time.perf_counter()
        stats = deliveries_send_due(tenant=tenant)
        drained = time.perf_counter() - started
        fast_ok = Delivery.objects.filter(endpoint=fast, status="succeeded").count()
        last_fast = DeliveryAttempt.objects.filter(delivery__endpoint=fast).aggregate(
            last=Max("attempted_at")
        )["last"]
        fast_seconds = last_fast.timestamp() - started_wall
        neighbour_attempts = DeliveryAttempt.objects.exclude(delivery__endpoint=fast).count()
    return {
        "fast_ok": fast_ok,
        "fast_seconds": fast_seconds,
        "rate": fast_ok / fast_seconds,
        "drained": drained,
        "neighbour_attempts": neighbour_attempts,
        "stats": stats,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("WEBHOOKS_ALLOW_LOOPBACK", "true")
    os.environ.setdefault("WEBHOOKS_REQUIRE_HTTPS", "false")
    setup()
    from django.conf import settings

    from apps.tenancy.models import Tenant
    from apps.tenancy.services import tenant_create

    load_before = os.getloadavg()[0]
    port = _free_port()
    receiver = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,))
    receiver.start()
    try:
        _wait_for(port)
        for leftover in Tenant.objects.filter(slug=SLUG):
            leftover.delete(force_drop=True)
        tenant = tenant_create(slug=SLUG, name="Webhook benchmark")
        try:
            base_url = f"http://127.0.0.1:{port}"
            _run(tenant, base_url, events=200, neighbour=None)  # warm-up
            alone = _run(tenant, base_url, events=args.events, neighbour=None)
            healthy = _run(tenant, base_url, events=args.events, neighbour="fast2")
            mixed = _run(tenant, base_url, events=args.events, neighbour="dead")
        finally:
            from django.db import connection

            connection.set_schema_to_public()
            Tenant.objects.get(slug=SLUG).delete(force_drop=True)
    finally:
        receiver.terminate()
        receiver.join()

    record(
        "Webhook delivery",
        f"python -m bench.webhook_delivery --events {args.events}",
        [
            f"one worker (in-process `deliveries_send_due`), receiver: aiohttp on loopback, "
            f"{args.events} events, request time limit {settings.WEBHOOKS_TIMEOUT_SECONDS:g} s; "
            f"load average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after (other "
            "work on the machine shows here)",
            f"fast endpoint alone: {alone['fast_ok']} deliveries in {alone['fast_seconds']:.2f} s "
            f"= {alone['rate']:.0f} deliveries/s (target: at least 500/s)",
            f"beside a second healthy endpoint subscribed to the same events: "
            f"{healthy['fast_ok']} deliveries in {healthy['fast_seconds']:.2f} s = "
            f"{healthy['rate']:.0f}/s to the first while the second took "
            f"{healthy['neighbour_attempts']} (together about "
            f"{(healthy['fast_ok'] + healthy['neighbour_attempts']) / healthy['fast_seconds']:.0f}"
            f"/s: the worker's throughput is shared)",
            f"beside a dead endpoint (accepts connections, never answers) subscribed to the same "
            f"events: {mixed['fast_ok']} deliveries in {mixed['fast_seconds']:.2f} s = "
            f"{mixed['rate']:.0f}/s, {mixed['rate'] / alone['rate'] * 100:.0f} % of the rate "
            f"alone; meanwhile {mixed['neighbour_attempts']} attempts to the dead endpoint timed "
            f"out (at most 64 of its requests in flight, then one probe of 4 per task once it "
            f"is failing), and the task ended after {mixed['drained']:.1f} s",
        ],
    )


if __name__ == "__main__":
    main()
