"""The HTTP side of deliveries: an aiohttp session on an event loop in a thread of its own.

The worker's main thread keeps the database work (Django's ORM is synchronous) and hands
requests to this loop, which runs hundreds of them at once; a receiver that hangs holds one
slot for at most the time limit and nobody else waits for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp

from apps.webhooks.ssrf import GuardedResolver, literal_host_refusal

# What we keep of a receiver's answer: enough to debug, never a whole page.
RESPONSE_EXCERPT_BYTES = 2048


@dataclass(frozen=True)
class Request:
    delivery_id: object
    endpoint_id: object
    url: str
    headers: dict[str, str]
    body: str


@dataclass
class Response:
    request: Request
    attempted_at: datetime
    duration_ms: int
    status: int | None = None
    body: str = ""
    error: str = ""
    retry_after_seconds: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` as seconds from now: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class Sender:
    """Use as a context manager; `submit` returns a concurrent future of a `Response`."""

    def __init__(self, *, timeout: float, concurrency: int, allow_loopback: bool) -> None:
        self.timeout = timeout
        self.concurrency = concurrency
        self.allow_loopback = allow_loopback
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._session: aiohttp.ClientSession | None = None

    def __enter__(self) -> Sender:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result()
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _open(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self.concurrency,
            resolver=GuardedResolver(allow_loopback=self.allow_loopback),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            # Receivers' cookies have no business in the next delivery.
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def _close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def submit(self, request: Request) -> concurrent.futures.Future[Response]:
        return asyncio.run_coroutine_threadsafe(self._send(request), self._loop)

    async def _send(self, request: Request) -> Response:
        assert self._session is not None
        attempted_at = datetime.now(UTC)
        started = time.perf_counter()

        def finish(**fields: object) -> Response:
            duration_ms = int((time.perf_counter() - started) * 1000)
            return Response(
                request=request, attempted_at=attempted_at, duration_ms=duration_ms, **fields
            )

        host = urlsplit(request.url).hostname or ""
        reason = literal_host_refusal(host, allow_loopback=self.allow_loopback)
        if reason:
            return finish(error=f"refused to connect to {host}: {reason}")
        try:
            async with self._session.post(
                request.url,
                data=request.body.encode(),
                headers=request.headers,
                allow_redirects=False,
            ) as answer:
                excerpt = await answer.content.read(RESPONSE_EXCERPT_BYTES)
                return finish(
                    status=answer.status,
                    body=excerpt.decode("utf-8", errors="replace"),
                    retry_after_seconds=retry_after_seconds(answer.headers.get("Retry-After")),
                )
        except TimeoutError:
            return finish(error=f"no response within {self.timeout:g} s")
        except aiohttp.ClientConnectorError as error:
            return finish(error=f"could not connect: {error.os_error}")
        except aiohttp.ClientError as error:
            return finish(error=f"request failed: {error.__class__.__name__}: {error}"[:500])
        except (ValueError, OSError) as error:
            # A URL aiohttp cannot use, or a socket error it did not wrap: a failed attempt
            # like any other, not a crash of the worker's whole batch.
            return finish(error=f"request failed: {error.__class__.__name__}: {error}"[:500])
