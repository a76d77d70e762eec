from __future__ import annotations

import pytest

from apps.whatsapp.bulk import BulkSend, Pacer, send_many
from apps.whatsapp.graph import run_async
from apps.whatsapp.services import whatsapp_provider_get


def sends(count: int) -> list[BulkSend]:
    return [
        BulkSend(key=n, to=f"1415555{n:04d}", name="welcome", language="en_US")
        for n in range(count)
    ]


def test_every_send_ends_as_an_outcome_and_a_failure_stops_nothing(cloud_account, fake_graph):
    fake_graph.config.failures_by_number["14155550007"] = (400, 131026)
    provider = whatsapp_provider_get()

    outcomes = run_async(lambda: send_many(provider=provider, sends=sends(30), concurrency=8))

    assert [o.key for o in outcomes] == list(range(30))
    failed = [o for o in outcomes if not o.ok]
    assert [(o.key, o.error.meta_code) for o in failed] == [(7, 131026)]
    assert all(o.result.wamid.startswith("wamid.") for o in outcomes if o.ok)
    assert fake_graph.counts["messages"] == 30


def test_the_pacer_spaces_sends_by_the_throughput():
    now = [100.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    pacer = Pacer(50, clock=lambda: now[0], sleep=fake_sleep)

    async def main():
        for _ in range(5):
            await pacer.wait()

    run_async(main)

    assert slept == pytest.approx([0.02, 0.04, 0.06, 0.08])


def test_without_a_throughput_there_is_no_pause():
    async def never(seconds: float) -> None:
        raise AssertionError("must not sleep")

    async def main():
        pacer = Pacer(None, sleep=never)
        for _ in range(3):
            await pacer.wait()

    run_async(main)
