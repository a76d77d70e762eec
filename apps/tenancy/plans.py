"""Plans and what they allow: the one table every limit is read from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlanLimits:
    requests_per_minute: int
    requests_per_day: int


class Plan:
    FREE = "free"
    STARTER = "starter"
    PRO = "pro"
    ENTERPRISE = "enterprise"
    CHOICES = [
        (FREE, "Free"),
        (STARTER, "Starter"),
        (PRO, "Pro"),
        (ENTERPRISE, "Enterprise"),
    ]


PLAN_LIMITS: dict[str, PlanLimits] = {
    Plan.FREE: PlanLimits(requests_per_minute=60, requests_per_day=1_000),
    Plan.STARTER: PlanLimits(requests_per_minute=300, requests_per_day=10_000),
    Plan.PRO: PlanLimits(requests_per_minute=1_000, requests_per_day=100_000),
    # Enterprise numbers are negotiated per tenant; these apply until they are set.
    Plan.ENTERPRISE: PlanLimits(requests_per_minute=5_000, requests_per_day=1_000_000),
}
