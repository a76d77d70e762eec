"""The one Graph API client (WhatsApp Cloud API), over aiohttp.

Why aiohttp: measured on this machine against one loopback server, aiohttp's client sustains
several thousand requests/s where httpx's async client manages a few hundred (figures in
bench/RESULTS.md); campaign dispatch needs 1,000 sends/s per worker.

- One pooled `aiohttp.ClientSession` per event loop (per process): connections are reused.
- The async API (`GraphClient`) is what bulk paths use: many sends concurrently on one loop
  inside a Celery task, e.g. `graph.run_async(dispatch(...))`.
- Single sends from sync code (views, services) use `run_sync(coro)`, which runs the coroutine
  on one long-lived background loop per process, so they share its pooled connections too.
- Retries, with exponential backoff and full jitter, only where repeating cannot do harm:
  a refused connection (nothing was sent) and HTTP 429 (Meta refused the request) for every
  request; 5xx and timeouts only for idempotent requests (GET/DELETE, or those declared
  idempotent). A POST that timed out may have been delivered: sending it again could message
  a person twice, so it fails with `upstream_timeout` instead.
- Meta's error bodies become `GraphError` (an ApplicationError: 502 `upstream_error`, or 504
  `upstream_timeout`) carrying Meta's code and the catalogue's title and fix.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import random
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import aiohttp
from django.conf import settings

from apps.core.errors import ApplicationError
from apps.whatsapp.errors import error_info

T = TypeVar("T")

DEFAULT_TIMEOUT = 15.0  # seconds for a whole request; Meta answers sends in well under 1 s
CONNECT_TIMEOUT = 5.0
DEFAULT_ATTEMPTS = 3
BACKOFF_BASE = 0.25  # seconds; attempt n waits up to base * 2**n (full jitter), capped
BACKOFF_CAP = 8.0
# Connections kept per session: enough for bulk dispatch at ~1,000 sends/s with ~60 ms
# round trips, small enough not to exhaust file descriptors.
POOL_LIMIT = 256
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "DELETE", "PUT", "OPTIONS"})


class GraphError(ApplicationError):
    """Meta answered with an error, or could not be reached."""

    status = 502
    code = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        meta_code: int | None = None,
        meta_subcode: int | None = None,
        http_status: int | None = None,
        fbtrace_id: str = "",
        meta_details: str = "",
    ) -> None:
        info = error_info(meta_code)
        details = {
            "meta_code": meta_code,
            "meta_subcode": meta_subcode,
            "meta_message": message,
            "meta_details": meta_details,
            "title": info.title,
            "fix": info.fix,
            "http_status": http_status,
            "fbtrace_id": fbtrace_id,
        }
        super().__init__(f"WhatsApp: {info.title}. {message}".strip(), details=details)
        self.meta_code = meta_code
        self.meta_subcode = meta_subcode
        self.http_status = http_status
        self.meta_message = message


class GraphTimeout(GraphError):
    status = 504
    code = "upstream_timeout"


class GraphUnreachable(GraphError):
    """No connection could be made: the request never left this machine."""


# ------------------------------------------------------------------------------------------
# Sessions: one per event loop
# ------------------------------------------------------------------------------------------
_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary()
)


def _session() -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(limit=POOL_LIMIT, ttl_dns_cache=300)
        session = aiohttp.ClientSession(
            connector=connector, headers={"User-Agent": "Lynkist/1 (+graph-client)"}
        )
        _sessions[loop] = session
    return session


async def close_session() -> None:
    """Close this loop's session (call before the loop ends; `run_async` does it for you)."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None and not session.closed:
        await session.close()


def run_async(main: Callable[[], Awaitable[T]]) -> T:
    """Run a bulk coroutine on a fresh event loop (e.g. inside a Celery task) and close its
    pooled session at the end."""

    async def wrapper() -> T:
        try:
            return await main()
        finally:
            await close_session()

    return asyncio.run(wrapper())


class _BackgroundLoop:
    """One event loop on a daemon thread per process, for sync callers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="graph-client-loop", daemon=True
        )
        self.thread.start()


_background: _BackgroundLoop | None = None
_background_lock = threading.Lock()


def _reset_after_fork() -> None:
    # A forked child (Celery prefork) inherits no running thread: start afresh on first use.
    global _background
    _background = None
    _sessions.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


@atexit.register
def _close_background_session() -> None:
    # Closing the pooled session politely at exit (instead of aiohttp warning about it).
    if _background is not None and _background.thread.is_alive():
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_session(), _background.loop).result(2)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run one Graph call from synchronous code on the shared background loop."""
    global _background
    if _background is None:
        with _background_lock:
            if _background is None:
                _background = _BackgroundLoop()
    return asyncio.run_coroutine_threadsafe(coro, _background.loop).result()


# ------------------------------------------------------------------------------------------
# The client
# ------------------------------------------------------------------------------------------
def _backoff(attempt: int, retry_after: float | None = None) -> float:
    if retry_after is not None:
        return min(retry_after, BACKOFF_CAP)
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


def _error_from_body(http_status: int, body: Any) -> GraphError:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphError(
            f"HTTP {http_status} without a Graph error body.", http_status=http_status
        )
    data = error.get("error_data") or {}
    return GraphError(
        str(error.get("message") or error.get("error_user_msg") or ""),
        meta_code=error.get("code"),
        meta_subcode=error.get("error_subcode"),
        http_status=http_status,
        fbtrace_id=str(error.get("fbtrace_id") or ""),
        meta_details=str(data.get("details") or "") if isinstance(data, dict) else "",
    )


class GraphClient:
    """Calls to one WhatsApp Business Account's Graph API with one access token."""

    def __init__(
        self,
        *,
        access_token: str,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
    ) -> None:
        self.access_token = access_token
        self.base_url = (base_url or settings.GRAPH_API_BASE_URL).rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=CONNECT_TIMEOUT)
        self.attempts = max(1, attempts)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: Callable[[], Any] | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """One Graph call with the retry rule above. `data` is a factory (a multipart body
        cannot be sent twice), called once per attempt."""
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        url = f"{self.base_url}/{path.lstrip('/')}"
        headers = {"Authorization": f"Bearer {self.access_token}"}
        session = _session()
        last_error: GraphError | None = None
        for attempt in range(self.attempts):
            retry_after: float | None = None
            try:
                async with session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data() if data is not None else None,
                    headers=headers,
                    timeout=self.timeout,
                ) as response:
                    try:
                        body = await response.json(content_type=None)
                    except ValueError:
                        body = None
                    if response.status < 400:
                        return body if isinstance(body, dict) else {"data": body}
                    last_error = _error_from_body(response.status, body)
                    if response.status == 429:
                        header = response.headers.get("Retry-After", "")
                        retry_after = float(header) if header.isdigit() else None
                        retryable = True
                    else:
                        retryable = response.status >= 500 and idempotent
            except aiohttp.ClientConnectorError as error:
                last_error = GraphUnreachable(f"Cannot connect to the Graph API: {error}.")
                retryable = True
            except TimeoutError:
                last_error = GraphTimeout("The Graph API did not answer in time.")
                retryable = idempotent
            except aiohttp.ClientError as error:
                last_error = GraphError(f"The connection to the Graph API failed: {error}.")
                retryable = idempotent
            if not retryable or attempt + 1 >= self.attempts:
                break
            await asyncio.sleep(_backoff(attempt, retry_after))
        assert last_error is not None
        raise last_error

    # -- messages ------------------------------------------------------------------------
    async def send_template(
        self,
        *,
        phone_number_id: str,
        to: str,
        name: str,
        language: str,
        components: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if components:
            template["components"] = components
        return await self.request(
            "POST",
            f"{phone_number_id}/messages",
            json={
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "template",
                "template": template,
            },
        )

    async def get_phone_number(self, *, phone_number_id: str) -> dict[str, Any]:
        return await self.request(
            "GET",
            phone_number_id,
            params={
                "fields": "id,display_phone_number,verified_name,quality_rating,"
                "code_verification_status,throughput"
            },
        )

    # -- templates -----------------------------------------------------------------------
    async def list_templates(self, *, waba_id: str, page_size: int = 100) -> list[dict[str, Any]]:
        """Every template of the WABA, following Meta's cursors."""
        templates: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": page_size}
        while True:
            body = await self.request("GET", f"{waba_id}/message_templates", params=params)
            templates.extend(body.get("data") or [])
            after = ((body.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not (body.get("paging") or {}).get("next"):
                return templates
            params = {"limit": page_size, "after": after}

    async def create_template(self, *, waba_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.request("POST", f"{waba_id}/message_templates", json=payload)

    async def delete_template(
        self, *, waba_id: str, name: str, meta_id: str | None = None
    ) -> dict[str, Any]:
        params = {"name": name}
        if meta_id:
            params["hsm_id"] = meta_id
        return await self.request("DELETE", f"{waba_id}/message_templates", params=params)

    # -- media ---------------------------------------------------------------------------
    async def upload_media(
        self, *, phone_number_id: str, content: bytes, mime_type: str, filename: str
    ) -> str:
        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("messaging_product", "whatsapp")
            data.add_field("type", mime_type)
            data.add_field("file", content, filename=filename, content_type=mime_type)
            return data

        # Uploading twice only leaves an unused media id that Meta expires: safe to retry.
        body = await self.request("POST", f"{phone_number_id}/media", data=form, idempotent=True)
        return str(body["id"])

    async def get_media(self, *, media_id: str) -> dict[str, Any]:
        return await self.request("GET", media_id)
