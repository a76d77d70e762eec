"""Many template sends on one event loop: the bulk path campaign dispatch builds on.

`send_many` runs up to `concurrency` sends at once through any provider's async API, paces
them to `per_second` (the account's throughput) and never lets one failure stop the others:
every send ends as an outcome, with its result or its error. Use it inside a Celery task with
`apps.whatsapp.graph.run_async(lambda: send_many(...))`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from apps.whatsapp.graph import GraphError
from apps.whatsapp.providers import SendResult, WhatsAppProvider


@dataclass(frozen=True)
class BulkSend:
    key: Any  # the caller's id for this send (a campaign recipient, say)
    to: str
    name: str
    language: str
    components: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class BulkOutcome:
    key: Any
    result: SendResult | None = None
    error: GraphError | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None


class Pacer:
    """Spaces starts 1/per_second apart (a leaky bucket without bursts)."""

    def __init__(
        self,
        per_second: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self.clock, self.sleep = clock, sleep
        self.next_start: float | None = None

    async def wait(self) -> None:
        if not self.interval:
            return
        now = self.clock()
        start = now if self.next_start is None else max(now, self.next_start)
        self.next_start = start + self.interval
        if start > now:
            await self.sleep(start - now)


async def send_many(
    *,
    provider: WhatsAppProvider,
    sends: Iterable[BulkSend],
    concurrency: int = 64,
    per_second: float | None = None,
    pacer: Pacer | None = None,
) -> list[BulkOutcome]:
    """Outcomes in the order of `sends`."""
    items = list(sends)
    outcomes: list[BulkOutcome | None] = [None] * len(items)
    pacer = pacer or Pacer(per_second)
    queue = iter(enumerate(items))

    async def worker() -> None:
        for index, send in queue:
            await pacer.wait()
            try:
                result = await provider.send_template_async(
                    to=send.to, name=send.name, language=send.language, components=send.components
                )
            except GraphError as error:
                outcomes[index] = BulkOutcome(key=send.key, error=error)
            else:
                outcomes[index] = BulkOutcome(key=send.key, result=result)

    await asyncio.gather(*[worker() for _ in range(max(1, min(concurrency, len(items))))])
    return [outcome for outcome in outcomes if outcome is not None]
