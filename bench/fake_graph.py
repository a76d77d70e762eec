"""A fake WhatsApp Cloud (Graph) API: a real aiohttp HTTP server on loopback.

Tests and benchmarks point GRAPH_API_BASE_URL at it, so the real client, its retries and the
error mapping are exercised over real sockets. It serves what Lynkist calls:

    POST   /{version}/{phone_number_id}/messages         template messages (gives a wamid)
    GET    /{version}/{phone_number_id}                  phone number lookup
    GET    /{version}/{waba_id}/message_templates        list (cursor paging)
    POST   /{version}/{waba_id}/message_templates        create (PENDING)
    DELETE /{version}/{waba_id}/message_templates        delete by name / hsm_id
    POST   /{version}/{phone_number_id}/media            media upload (multipart)
    GET    /{version}/{media_id}                         media metadata with a download URL
    GET    /download/{media_id}                          media bytes

Behaviour is configurable (in-process through `FakeGraph.config`, or over HTTP with
`POST /_fake/config`): latency, failures by recipient number, a random failure rate, a queue
of failures for the next requests, and tokens that count as expired. `GET /_fake/stats`
returns the counts of what it received.

Run alone:  .venv/bin/python -m bench.fake_graph --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import secrets
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

VERSION = "v21.0"


@dataclass
class FakeConfig:
    latency: float = 0.0  # seconds added to every Graph request
    # recipient number -> (http status, Meta error code) for sends to that number
    failures_by_number: dict[str, tuple[int, int]] = field(default_factory=dict)
    fail_rate: float = 0.0  # share of sends that fail with `rate_failure`
    rate_failure: tuple[int, int] = (500, 131000)
    # Consumed one per Graph request, first in first out: {"status", "code", "delay"}.
    fail_next: deque = field(default_factory=deque)
    expired_tokens: set[str] = field(default_factory=lambda: {"expired-token"})
    page_size: int = 25


def graph_error(status: int, code: int, message: str, subcode: int | None = None) -> web.Response:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "Fake" + secrets.token_hex(6),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if 131000 <= code < 140000:
        error["error_data"] = {"messaging_product": "whatsapp", "details": message}
    return web.json_response({"error": error}, status=status)


class FakeGraph:
    def __init__(self, *, seed: int = 0) -> None:
        self.config = FakeConfig()
        self.counts: Counter[str] = Counter()
        self.sent: deque[dict[str, Any]] = deque(maxlen=10_000)  # last sends received
        self.templates: dict[str, list[dict[str, Any]]] = {}  # waba id -> templates
        self.media: dict[str, tuple[bytes, str]] = {}
        self._random = random.Random(seed)
        self._ids = itertools.count(1)
        self.app = self._build_app()

    # -- helpers -------------------------------------------------------------------------
    def reset(self) -> None:
        self.config = FakeConfig()
        self.counts.clear()
        self.sent.clear()
        self.templates.clear()
        self.media.clear()

    def stats(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "total": sum(self.counts.values())}

    def _new_id(self) -> str:
        return str(10**14 + next(self._ids))

    async def _before(self, request: web.Request, route: str) -> web.Response | None:
        """Common checks: count, latency, queued failures, authentication."""
        self.counts[route] += 1
        failure = self.config.fail_next.popleft() if self.config.fail_next else None
        delay = self.config.latency + (failure or {}).get("delay", 0.0)
        if delay:
            await asyncio.sleep(delay)
        if failure and failure.get("status"):
            return graph_error(failure["status"], failure.get("code", 131000), "Injected failure.")
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        if not auth.startswith("Bearer ") or not token:
            return graph_error(401, 0, "An access token is required.")
        if token in self.config.expired_tokens:
            return graph_error(401, 190, "Error validating access token: session has expired.", 463)
        return None

    # -- handlers ------------------------------------------------------------------------
    async def send_message(self, request: web.Request) -> web.Response:
        if (refused := await self._before(request, "messages")) is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return graph_error(400, 100, "Malformed JSON.")
        to = str(body.get("to", ""))
        if body.get("messaging_product") != "whatsapp" or body.get("type") != "template":
            return graph_error(400, 100, "Unsupported message type for this fake.")
        template = body.get("template") or {}
        if not template.get("name") or not (template.get("language") or {}).get("code"):
            return graph_error(
                400, 131008, "Required parameter is missing: template name/language."
            )
        if not to.lstrip("+").isdigit() or not 8 <= len(to.lstrip("+")) <= 15:
            return graph_error(400, 131009, f"Parameter value is not valid: to={to!r}.")
        if to.lstrip("+") in self.config.failures_by_number:
            status, code = self.config.failures_by_number[to.lstrip("+")]
            return graph_error(status, code, f"Injected failure for {to}.")
        if self.config.fail_rate and self._random.random() < self.config.fail_rate:
            status, code = self.config.rate_failure
            return graph_error(status, code, "Injected random failure.")
        self.sent.append(body)
        wamid = "wamid.HBgL" + secrets.token_hex(16).upper()
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
                "messages": [{"id": wamid, "message_status": "accepted"}],
            }
        )

    async def get_node(self, request: web.Request) -> web.Response:
        node = request.match_info["node"]
        if node in self.media:
            if (refused := await self._before(request, "media_get")) is not None:
                return refused
            content, mime = self.media[node]
            return web.json_response(
                {
                    "messaging_product": "whatsapp",
                    "url": str(request.url.origin()) + f"/download/{node}",
                    "mime_type": mime,
                    "file_size": len(content),
                    "id": node,
                }
            )
        if (refused := await self._before(request, "phone_number")) is not None:
            return refused
        if not node.isdigit():
            return graph_error(
                400, 100, f"Unsupported get request. Object {node} does not exist.", 33
            )
        return web.json_response(
            {
                "id": node,
                "display_phone_number": "+1 555-010-" + node[-4:].rjust(4, "0"),
                "verified_name": "Fake Business",
                "quality_rating": "GREEN",
                "code_verification_status": "VERIFIED",
                "throughput": {"level": "STANDARD"},
            }
        )

    async def list_templates(self, request: web.Request) -> web.Response:
        if (refused := await self._before(request, "templates_list")) is not None:
            return refused
        items = self.templates.get(request.match_info["waba"], [])
        limit = int(request.query.get("limit", self.config.page_size))
        start = int(request.query.get("after", "0") or 0)
        page = items[start : start + limit]
        body: dict[str, Any] = {"data": page, "paging": {"cursors": {"before": str(start)}}}
        if start + limit < len(items):
            body["paging"]["cursors"]["after"] = str(start + limit)
            body["paging"]["next"] = str(request.url.update_query({"after": start + limit}))
        return web.json_response(body)

    async def create_template(self, request: web.Request) -> web.Response:
        if (refused := await self._before(request, "templates_create")) is not None:
            return refused
        body = await request.json()
        items = self.templates.setdefault(request.match_info["waba"], [])
        name, language = body.get("name"), body.get("language")
        if not name or not language or not body.get("category") or not body.get("components"):
            return graph_error(
                400, 100, "Invalid parameter: name, language, category and components are required."
            )
        if any(t["name"] == name and t["language"] == language for t in items):
            return graph_error(
                400, 100, "Message template already exists in this language.", 2388024
            )
        template = {
            "id": self._new_id(),
            "name": name,
            "language": language,
            "category": body["category"],
            "components": body["components"],
            "status": "PENDING",
        }
        items.append(template)
        return web.json_response(
            {"id": template["id"], "status": "PENDING", "category": body["category"]}
        )

    async def delete_template(self, request: web.Request) -> web.Response:
        if (refused := await self._before(request, "templates_delete")) is not None:
            return refused
        items = self.templates.get(request.match_info["waba"], [])
        name, hsm_id = request.query.get("name"), request.query.get("hsm_id")
        keep = [t for t in items if not (t["name"] == name and (not hsm_id or t["id"] == hsm_id))]
        if len(keep) == len(items):
            return graph_error(400, 100, f"Message template {name!r} was not found.", 2593002)
        self.templates[request.match_info["waba"]] = keep
        return web.json_response({"success": True})

    async def upload_media(self, request: web.Request) -> web.Response:
        if (refused := await self._before(request, "media_upload")) is not None:
            return refused
        form = await request.post()
        upload = form.get("file")
        if form.get("messaging_product") != "whatsapp" or not hasattr(upload, "file"):
            return graph_error(400, 100, "messaging_product and file are required.")
        media_id = self._new_id()
        self.media[media_id] = (upload.file.read(), str(form.get("type") or upload.content_type))
        return web.json_response({"id": media_id})

    async def download(self, request: web.Request) -> web.Response:
        self.counts["media_download"] += 1
        item = self.media.get(request.match_info["media_id"])
        if item is None:
            return web.Response(status=404)
        return web.Response(body=item[0], content_type=item[1])

    # -- control -------------------------------------------------------------------------
    async def control_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def control_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    async def control_config(self, request: web.Request) -> web.Response:
        body = await request.json()
        if "latency" in body:
            self.config.latency = float(body["latency"])
        if "fail_rate" in body:
            self.config.fail_rate = float(body["fail_rate"])
        if "failures_by_number" in body:
            self.config.failures_by_number = {
                k: tuple(v) for k, v in body["failures_by_number"].items()
            }
        return web.json_response({"ok": True})

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=110 * 1024 * 1024)
        app.add_routes(
            [
                web.get("/_fake/stats", self.control_stats),
                web.post("/_fake/reset", self.control_reset),
                web.post("/_fake/config", self.control_config),
                web.get("/download/{media_id}", self.download),
                web.post(f"/{VERSION}/{{phone}}/messages", self.send_message),
                web.post(f"/{VERSION}/{{phone}}/media", self.upload_media),
                web.get(f"/{VERSION}/{{waba}}/message_templates", self.list_templates),
                web.post(f"/{VERSION}/{{waba}}/message_templates", self.create_template),
                web.delete(f"/{VERSION}/{{waba}}/message_templates", self.delete_template),
                web.get(f"/{VERSION}/{{node}}", self.get_node),
            ]
        )
        return app


class FakeGraphServer:
    """Runs a FakeGraph on loopback in a thread with its own event loop (tests use this)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.graph = FakeGraph()
        self.host, self.port = host, port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-graph", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """What GRAPH_API_BASE_URL should be set to."""
        return f"{self.origin}/{VERSION}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.graph.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def start(self) -> FakeGraphServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Graph API did not start")
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    graph = FakeGraph()

    async def announce(app: web.Application) -> None:
        print(f"fake Graph API at http://{args.host}:{args.port}/{VERSION}", flush=True)

    graph.app.on_startup.append(announce)
    web.run_app(graph.app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
