"""Tenant creation: cloning the template schema against running every migration.

    .venv/bin/python -m bench.tenant_creation [--tenants 5]

Creates throwaway workspaces `bench-clone-N` / `bench-migrate-N` and drops them afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench._django import record, setup


def _create_and_time(slug: str) -> float:
    from apps.tenancy.services import tenant_create

    started = time.perf_counter()
    tenant_create(slug=slug, name=slug)
    return time.perf_counter() - started


def _drop(slug: str) -> None:
    from django.db import connection

    from apps.tenancy.models import Tenant

    connection.set_schema_to_public()
    Tenant.objects.filter(slug=slug).first().delete(force_drop=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=5)
    args = parser.parse_args()
    setup()
    from django.test import override_settings

    from apps.tenancy.models import Tenant

    Tenant.objects.filter(slug__startswith="bench-").delete()  # leftovers of an aborted run
    figures: dict[str, list[float]] = {"clone": [], "migrate": []}
    for n in range(args.tenants):
        figures["clone"].append(_create_and_time(f"bench-clone-{n}"))
        with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False, TENANT_BASE_SCHEMA=None):
            figures["migrate"].append(_create_and_time(f"bench-migrate-{n}"))
    for n in range(args.tenants):
        _drop(f"bench-clone-{n}")
        _drop(f"bench-migrate-{n}")

    def summary(values: list[float]) -> str:
        return f"median {statistics.median(values):.3f} s, max {max(values):.3f} s"

    clone, migrate = figures["clone"], figures["migrate"]
    record(
        "Tenant creation",
        f"python -m bench.tenant_creation --tenants {args.tenants}",
        [
            f"clone from template schema: {summary(clone)} per tenant ({args.tenants} tenants)",
            f"plain migration: {summary(migrate)} per tenant",
            f"speed-up: {statistics.median(migrate) / statistics.median(clone):.1f}x "
            "(target: under 1 s per tenant)",
        ],
    )


if __name__ == "__main__":
    main()
