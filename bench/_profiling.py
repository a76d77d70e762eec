"""What bench/load.py and the in-process profiling scripts (bench/profile_endpoints.py,
bench/profile_contacts.py) share: a Redis database of their own, CPU read from /proc, a
throwaway workspace, and in-process measurement of one endpoint with cProfile's findings."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Literals out of SQL, so that one statement with new values counts as the same statement.
LITERALS = re.compile(r"'(?:[^']|'')*'(?:::\w+)?|\b\d+\b|\"s\d+_x\d+\"")


def redis_url_with_db(url: str, db: int) -> str:
    if url.startswith("unix://"):
        return f"{url.split('?')[0]}?db={db}"
    base, _, last = url.rstrip("/").rpartition("/")
    return f"{base}/{db}" if last.isdigit() else f"{url.rstrip('/')}/{db}"


def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), None once the
    process is gone or is not on this machine."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def proc_cpu(pid: int) -> float | None:
    """User + system CPU seconds of one process (all its threads), None once it is gone."""
    fields = proc_stat(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / CLK_TCK


def where(filename: str, line: int, name: str) -> str:
    if filename.startswith(str(ROOT)):
        filename = filename[len(str(ROOT)) + 1 :]
    elif "site-packages/" in filename:
        filename = filename.split("site-packages/", 1)[1]
    return f"{filename}:{line}({name})" if filename != "~" else name


def profile_rows(stats: pstats.Stats, *, own_only: bool, key: str) -> list[tuple]:
    """(cumulative s, own s, calls, where) per function, the most `key` time first;
    `own_only`: the project's functions (apps/, lynkist/) only."""
    own = (str(ROOT / "apps"), str(ROOT / "lynkist"))
    rows = []
    for (filename, line, name), (_, calls, tottime, cumulative, _) in stats.stats.items():
        if own_only and not filename.startswith(own):
            continue
        rows.append((cumulative, tottime, calls, where(filename, line, name)))
    index = 0 if key == "cumulative" else 1
    rows.sort(key=lambda row: -row[index])
    return rows


# ------------------------------------------------------------------------------------------
# In-process profiling scripts
# ------------------------------------------------------------------------------------------
def boot(redis_db: int) -> None:
    """Django on the configured (or embedded) database, with Redis database `redis_db` for
    the cache, rate limits and queues, so nothing lands in the development database's."""
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from lynkist import embedded

    base = os.environ.get("REDIS_URL") or embedded.redis_url()
    os.environ["REDIS_URL"] = redis_url_with_db(base, redis_db)
    from bench._django import setup

    setup()


def flush_redis() -> None:
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def drop_workspace(slug: str) -> None:
    from django.db import connection

    from apps.tenancy.models import Tenant

    connection.set_schema_to_public()
    stale = Tenant.objects.filter(slug=slug).first()
    if stale:
        stale.delete(force_drop=True)


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _print_top(stats: pstats.Stats, key: str, top: int, own_only: bool) -> None:
    total = stats.total_tt
    print(f"{'cum %':>6} {'own %':>6} {'calls':>8}  function")
    for cumulative, own, calls, place in profile_rows(stats, own_only=own_only, key=key)[:top]:
        print(f"{cumulative / total * 100:6.1f} {own / total * 100:6.1f} {calls:8d}  {place}")


def measure(name: str, call: Callable[[], Any], requests: int, *, profile: bool, top: int) -> None:
    """Call `call` (a request through django.test.Client) after a warm-up, `requests` times:
    print wall and CPU per request (this process, and its PostgreSQL backend's: CPU is what
    the load bench runs out of, while wall time also waits on a shared database), statements
    per request; with `profile`, as many again under cProfile."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(20):  # imports, connections, per-process caches
        response = call()
        assert 200 <= response.status_code < 300, (name, response.status_code, response.content)
    timings = []
    backend = _backend_pid()
    backend_before, cpu_before = proc_cpu(backend), time.process_time()
    with CaptureQueriesContext(connection) as captured:
        for _ in range(requests):
            started = time.perf_counter()
            response = call()
            timings.append(time.perf_counter() - started)
            assert 200 <= response.status_code < 300, (name, response.status_code)
    cpu = (time.process_time() - cpu_before) / requests * 1000
    backend_after = proc_cpu(backend)
    statements: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    for query in captured.captured_queries:
        sql = LITERALS.sub("?", " ".join(query["sql"].split()))[:100]
        statements[sql] += 1
        seconds[sql] += float(query["time"])
    sql_ms = sum(seconds.values()) / requests * 1000
    server = (
        f"{(backend_after - backend_before) / requests * 1000:.2f} ms"
        if backend_before is not None and backend_after is not None
        else "not readable (not on this machine)"
    )
    print(f"\n=== {name}: {requests} requests in-process ===")
    print(
        f"wall mean {statistics.fmean(timings) * 1000:.2f} ms, p50 "
        f"{statistics.median(timings) * 1000:.2f} ms; "
        f"{len(captured.captured_queries) / requests:.2f} statements and {sql_ms:.2f} ms SQL "
        "per request"
    )
    print(f"CPU per request: this process {cpu:.2f} ms, its PostgreSQL backend {server}")
    print("-- statements per request (count, ms) --")
    for sql, count in statements.most_common(20):
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
