"""A real HTTP receiver on loopback and a clock tests can move."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django_tenants.utils import schema_context

from apps.webhooks.services.deliveries import deliveries_send_due
from apps.webhooks.services.endpoints import endpoint_create


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str
    at: float

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers by path: /ok → 200, /status/N → N (?retry_after=S adds Retry-After),
    /redirect → 302 to /ok, /slow/S → 200 after S seconds. Records every request."""

    base_url: str
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def requests_to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if urlsplit(r.path).path == path]


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode()
            with receiver.lock:
                receiver.received.append(
                    Received(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        time.monotonic(),
                    )
                )
            parts = urlsplit(self.path)
            segments = parts.path.strip("/").split("/")
            query = parse_qs(parts.query)
            status, headers = 200, {}
            if segments[0] == "status":
                status = int(segments[1])
                if "retry_after" in query:
                    headers["Retry-After"] = query["retry_after"][0]
            elif segments[0] == "redirect":
                status, headers = 302, {"Location": receiver.url("/ok")}
            elif segments[0] == "slow":
                time.sleep(float(segments[1]))
            payload = b'{"received": true}'
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

    return Handler


class _Server(ThreadingHTTPServer):
    # The stdlib's backlog of 5 would make many simultaneous connections wait for SYN retries.
    request_queue_size = 512


@pytest.fixture
def receiver():
    receiver = Receiver(base_url="")
    server = _Server(("127.0.0.1", 0), _handler_for(receiver))
    server.daemon_threads = True
    server.block_on_close = False
    receiver.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


class Clock:
    """A clock the tests move by hand; services take it instead of the real time."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_endpoint(acme):
    def make(url: str, *, tenant=None, event_types=(), **fields):
        tenant = tenant or acme
        with schema_context(tenant.schema_name):
            endpoint = endpoint_create(tenant=tenant, actor=None, url=url, event_types=event_types)
            for name, value in fields.items():
                setattr(endpoint, name, value)
            if fields:
                endpoint.save()
            return endpoint

    return make


@pytest.fixture
def drain(acme, clock):
    """Run what one worker's task runs, in the workspace's schema, on the test clock."""

    def run(tenant=None, **options):
        tenant = tenant or acme
        options.setdefault("drain_seconds", 5)
        with schema_context(tenant.schema_name):
            return deliveries_send_due(tenant=tenant, clock=clock, **options)

    return run
