"""CSV import of contacts, end to end: store the upload, then run the import task in-process
(the same function a worker runs), with peak memory per file size.

    .venv/bin/python -m bench.contacts_import [--rows 100000 1000000]

Each size runs in a child process of its own (so its peak RSS is its own) in a throwaway
workspace `bench-import-N`, created with the `tenant_create` service and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench._django import record, setup
from bench._profiling import proc_cpu

FIRST = ["Anurag", "Lara", "Priya", "Rahul", "Sofia", "Mei", "Omar", "Elena", "Kofi", "Aisha"]
LAST = ["Sharma", "Croft", "Patel", "Gupta", "Rossi", "Chen", "Haddad", "Petrova", "Khan"]


def write_csv(path: Path, rows: int) -> None:
    """A realistic file: names, a valid phone, e-mail, company, tags and two custom fields.
    Written line by line, so generating 1M rows needs no memory either."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("First Name,Last Name,Mobile,Email,Company,Job Title,Tags,Plan,Order ID\n")
        for n in range(rows):
            first, last = FIRST[n % len(FIRST)], LAST[(n // 7) % len(LAST)]
            handle.write(
                f"{first},{last},+9197{n:08d},{first.lower()}.{n}@example.test,"
                f'Company {n % 5000},Buyer,"bench, tier{n % 3}",pro,A{n}\n'
            )


def child(rows: int, writers: int | None) -> None:
    setup()
    from django.core.files import File
    from django.db import connection

    from apps.contacts.models import Contact
    from apps.contacts.services import imports
    from apps.contacts.tasks import contact_import_task
    from apps.tenancy.models import Tenant
    from apps.tenancy.plans import Plan
    from apps.tenancy.services import tenant_create

    if writers:
        imports.WRITERS = writers
    slug = f"bench-import-{rows}"
    stale = Tenant.objects.filter(slug=slug).first()
    if stale:
        stale.delete(force_drop=True)
    tenant = tenant_create(slug=slug, name=slug, plan=Plan.PRO)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "contacts.csv"
        write_csv(path, rows)
        size = path.stat().st_size
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        connection.set_tenant(tenant)
        queued = []
        # The task is run here, in-process, instead of by a worker that may not be running.
        contact_import_task.delay = lambda *args: queued.append(args)
        started = time.perf_counter()
        postgres_cpu = _PostgresCpu()
        postgres_cpu.start()
        cpu_before = time.process_time()
        with path.open("rb") as handle:
            job = imports.import_upload(uploaded_file=File(handle, name="contacts.csv"))
        uploaded = time.perf_counter()
        imports.import_start(job=job, mapping=job.mapping)
        contact_import_task.apply(args=list(queued[0]))
        finished = time.perf_counter()
        cpu_s, backend_s = time.process_time() - cpu_before, postgres_cpu.stop()
        job.refresh_from_db()
        count = Contact.objects.count()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from django.core.files.storage import default_storage

    default_storage.delete(job.file_path)
    connection.set_schema_to_public()
    Tenant.objects.get(slug=slug).delete(force_drop=True)
    print(
        json.dumps(
            {
                "rows": rows,
                "bytes": size,
                "store_s": uploaded - started,
                "total_s": finished - started,
                "created": job.created_count,
                "failed": job.failed_count,
                "status": job.status,
                "contacts": count,
                "peak_rss_mb_before": rss_before / 1024,
                "peak_rss_mb": rss_after / 1024,
                "cpu_s": cpu_s,
                "backend_cpu_s": backend_s,
            }
        )
    )


class _PostgresCpu(threading.Thread):
    """CPU seconds used by PostgreSQL's processes on this machine while it runs: the import
    writes through two connections, and the second one's backend exits when the import ends,
    so every backend's CPU is sampled while it lives (every 50 ms) and summed."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.done = threading.Event()
        self._sample(existing=True)  # what existed before the import counts from here

    def _sample(self, existing: bool = False) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if (entry / "comm").read_text().strip() != "postgres":
                    continue
            except OSError:
                continue
            cpu = proc_cpu(int(entry.name))
            if cpu is not None:
                # A backend that started since counts from zero.
                self.first.setdefault(int(entry.name), cpu if existing else 0.0)
                self.last[int(entry.name)] = cpu

    def run(self) -> None:
        while not self.done.wait(0.05):
            self._sample()

    def stop(self) -> float:
        self.done.set()
        self.join()
        self._sample()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--writers", type=int, help="database connections writing (default: the setting)"
    )
    parser.add_argument("--child", type=int)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.writers)
        return
    results = []
    for rows in args.rows:
        output = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.contacts_import",
                "--child",
                str(rows),
                *(["--writers", str(args.writers)] if args.writers else []),
            ],  # fmt: skip
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "LOG_LEVEL": "WARNING"},
        ).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    lines = []
    for r in results:
        lines.append(
            f"{r['rows']:,} rows ({r['bytes'] / 1048576:.1f} MB): {r['total_s']:.1f} s end to end "
            f"(storing the file {r['store_s']:.2f} s), {r['rows'] / r['total_s']:,.0f} rows/s; "
            f"{r['created']:,} created, {r['failed']} failed, status {r['status']}; "
            f"peak RSS {r['peak_rss_mb']:.0f} MB (process before the import: "
            f"{r['peak_rss_mb_before']:.0f} MB); CPU: {r['cpu_s']:.1f} s in the importing "
            f"process, {r['backend_cpu_s']:.1f} s in PostgreSQL (every process)"
        )
    lines.append("target: 100,000 rows under 15 s; peak memory flat as the file grows")
    lines.append(
        "load average at the end (1/5/15 min; other processes share the 2 cores): "
        + " / ".join(f"{value:.1f}" for value in os.getloadavg())
    )
    record(
        "Contacts CSV import",
        f"python -m bench.contacts_import --rows {' '.join(map(str, args.rows))}"
        + (f" --writers {args.writers}" if args.writers else ""),
        lines,
    )


if __name__ == "__main__":
    main()
