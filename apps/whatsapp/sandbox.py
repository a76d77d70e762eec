"""The sandbox provider: WhatsApp simulated, for demo workspaces and `lk_sk_test_` keys.

Rules (DESIGN.md, "Sandbox provider"): every valid send is accepted with a `wamid.` id, then
reported sent, delivered and read within a few seconds, except by the recipient's last four
digits: 0001 fails with 131026, 0002 with 131056, 0003 with 131049, 0004 is delivered but
never read. Templates are approved a few seconds after submission, except that a name
containing "reject" is rejected with a reason.

Statuses travel the way Meta's do: each is written as a `SandboxStatusReport` row when the
send is accepted (with the moment it falls due), and a Celery task hands due rows, as a
Meta-shaped webhook payload, to the status pipeline's entry point `STATUS_PIPELINE`
(`apps.messaging.services.meta_webhook_ingest(*, payload)`, which the messaging app
provides). Until that function exists the rows stay unreported, with the reason recorded.
"""

from __future__ import annotations

import importlib
import logging
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.api.redis import redis_client
from apps.whatsapp.graph import GraphError
from apps.whatsapp.models import SandboxStatusReport
from apps.whatsapp.providers import SendResult, TemplateSubmission, WhatsAppProvider

logger = logging.getLogger(__name__)

STATUS_PIPELINE = "apps.messaging.services.meta_webhook_ingest"
REVIEW_SECONDS = 3  # a sandbox template is decided this long after submission
E164_DIGITS = re.compile(r"^\+?[1-9]\d{7,14}$")
# How long "a delivery run is queued for this second" is remembered: past the longest delay.
DEDUPE_SECONDS = 60

# Last four digits -> the statuses reported, as (seconds after the send, status, error code).
_HAPPY = [(1, "sent", None), (2, "delivered", None), (4, "read", None)]
OUTCOMES: dict[str, list[tuple[int, str, int | None]]] = {
    "0001": [(1, "failed", 131026)],
    "0002": [(1, "failed", 131056)],
    "0003": [(1, "failed", 131049)],
    "0004": [(1, "sent", None), (2, "delivered", None)],
}


def planned_statuses(to: str) -> list[tuple[int, str, int | None]]:
    return OUTCOMES.get(to[-4:], _HAPPY)


def review_decision(name: str) -> tuple[str, str]:
    """(status, rejection reason) the sandbox gives a submitted template."""
    if "reject" in name.lower():
        return "REJECTED", "INVALID_FORMAT: the sandbox rejects every template named *reject*."
    return "APPROVED", ""


class SandboxProvider(WhatsAppProvider):
    name = "sandbox"

    def __init__(self, *, schema_name: str, waba_id: str, phone_number_id: str) -> None:
        # Async callers run on other threads, whose DB connection has no schema set: the
        # schema is carried explicitly.
        self.schema_name = schema_name
        self.waba_id = waba_id
        self.phone_number_id = phone_number_id

    # -- sends ---------------------------------------------------------------------------
    def _accept(self, *, to: str, name: str, language: str) -> SendResult:
        if not E164_DIGITS.match(to):
            raise GraphError(f"Parameter value is not valid: to={to!r}.", meta_code=131009)
        if not name or not language:
            raise GraphError("Template name and language are required.", meta_code=131008)
        wamid = "wamid.SBX" + secrets.token_hex(16).upper()
        recipient = to.lstrip("+")
        now = timezone.now()
        plan = planned_statuses(to)
        due = [now + timedelta(seconds=delay) for delay, _, _ in plan]
        schema = self.schema_name
        # Async callers' threads and tasks may stand in another schema; a request is already
        # in this one, and entering it again costs as much Python as the insert.
        with nullcontext() if connection.schema_name == schema else schema_context(schema):
            _reports_insert(
                rows=[
                    (wamid, recipient, status, code, at)
                    for (_, status, code), at in zip(plan, due, strict=True)
                ]
            )
            transaction.on_commit(lambda: _schedule_delivery(schema, due))
        return SendResult(
            wamid=wamid,
            raw={
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": recipient}],
                "messages": [{"id": wamid, "message_status": "accepted"}],
            },
        )

    async def send_template_async(
        self, *, to: str, name: str, language: str, components: list[dict[str, Any]] | None = None
    ) -> SendResult:
        return await sync_to_async(self._accept_on_worker_thread, thread_sensitive=False)(
            to=to, name=name, language=language
        )

    def _accept_on_worker_thread(self, *, to: str, name: str, language: str) -> SendResult:
        # Runs on an executor thread with a connection of its own: closed after use so no
        # connection outlives the event loop (the sandbox serves demos, not bulk volume).
        try:
            return self._accept(to=to, name=name, language=language)
        finally:
            connection.close()

    def send_template(
        self, *, to: str, name: str, language: str, components: list[dict[str, Any]] | None = None
    ) -> SendResult:
        return self._accept(to=to, name=name, language=language)

    # -- everything else -----------------------------------------------------------------
    async def check_connection_async(self) -> dict[str, Any]:
        return self.check_connection()

    def check_connection(self) -> dict[str, Any]:
        return {
            "id": self.phone_number_id,
            "display_phone_number": "+1 555-000-0000",
            "verified_name": "Lynkist Sandbox",
            "quality_rating": "GREEN",
            "throughput": {"level": "STANDARD"},
            "sandbox": True,
        }

    async def submit_template_async(self, *, payload: dict[str, Any]) -> TemplateSubmission:
        return self.submit_template(payload=payload)

    def submit_template(self, *, payload: dict[str, Any]) -> TemplateSubmission:
        return TemplateSubmission(
            meta_id="sbx" + str(int(time.time() * 1000)) + secrets.token_hex(3),
            status="PENDING",
            category=str(payload.get("category", "")),
        )

    async def delete_template_async(self, *, name: str, meta_id: str | None) -> None:
        return None

    def delete_template(self, *, name: str, meta_id: str | None) -> None:
        return None

    async def list_templates_async(self) -> list[dict[str, Any]]:
        def on_worker_thread() -> list[dict[str, Any]]:
            try:
                return self.list_templates()
            finally:
                connection.close()

        return await sync_to_async(on_worker_thread, thread_sensitive=False)()

    def list_templates(self) -> list[dict[str, Any]]:
        """The sandbox's WABA holds exactly the workspace's templates; those submitted more
        than REVIEW_SECONDS ago have been decided."""
        from apps.message_templates.models import MessageTemplate

        decided_before = timezone.now() - timedelta(seconds=REVIEW_SECONDS)
        items = []
        with schema_context(self.schema_name):
            for template in MessageTemplate.objects.exclude(meta_id=""):
                entry = template.as_meta()
                if template.status == "PENDING" and template.updated_at <= decided_before:
                    entry["status"], reason = review_decision(template.name)
                    if reason:
                        entry["rejected_reason"] = reason
                items.append(entry)
        return items

    async def upload_media_async(self, *, content: bytes, mime_type: str, filename: str) -> str:
        return self.upload_media(content=content, mime_type=mime_type, filename=filename)

    def upload_media(self, *, content: bytes, mime_type: str, filename: str) -> str:
        return "sbxmedia" + secrets.token_hex(8)


# ------------------------------------------------------------------------------------------
# Status reports
# ------------------------------------------------------------------------------------------
_REPORT_COLUMNS = ["wamid", "recipient", "status", "error_code", "due_at"]
# The columns the ORM would fill with the model's defaults: nothing reported yet.
_REPORT_DEFAULTS = {"reported_at": "NULL", "attempts": "0", "last_error": "''"}
_REPORT_ROW = "(%s, %s, %s, %s::integer, %s::timestamptz)"
_REPORTS_SQL: dict[tuple[int, bool], str] = {}


def _reports_sql(count: int, *, own_transaction: bool) -> str:
    key = (count, own_transaction)
    if key not in _REPORTS_SQL:
        quote = connection.ops.quote_name
        columns = ", ".join(map(quote, [*_REPORT_COLUMNS, *_REPORT_DEFAULTS]))
        values = ", ".join([_REPORT_ROW] * count)
        # set_config(..., true) lasts as long as the statement's own transaction.
        condition = (
            "WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL"
            if own_transaction
            else ""
        )
        _REPORTS_SQL[key] = (
            f"INSERT INTO {quote(SandboxStatusReport._meta.db_table)} ({columns}) "  # noqa: S608
            f"SELECT v.*, {', '.join(_REPORT_DEFAULTS.values())} "
            f"FROM (VALUES {values}) AS v {condition}"
        )
    return _REPORTS_SQL[key]


def _reports_insert(*, rows: list[tuple[str, str, str, int | None, datetime]]) -> None:
    """Write a send's planned statuses, (wamid, recipient, status, error code, due at) each,
    in one statement: every sandbox send pays for it, and the ORM's bulk_create cost a
    transaction of its own (BEGIN, INSERT, COMMIT) and more Python than the insert.

    Outside a transaction the statement commits on its own, without waiting for the disk.
    Nothing is lost by that: the caller's next durable commit (the message's accept) flushes
    the log up to and past this one, so the reports are on disk before anything says the
    send was accepted. Only a database crash in between could lose them, and then the accept
    is lost too: the message stays pending, as if the sandbox had never been asked. Inside a
    caller's transaction the rows ride in it, and its durability is left alone."""
    own_transaction = connection.get_autocommit()
    with connection.cursor() as cursor:
        cursor.execute(
            _reports_sql(len(rows), own_transaction=own_transaction),
            [value for row in rows for value in row],
        )


# (workspace schema, second) for which this process knows a delivery run is queued, by itself
# or by another process (Redis said so). Only seconds still ahead are kept.
_QUEUED: set[tuple[str, int]] = set()
_QUEUED_LOCK = threading.Lock()


def _schedule_delivery(schema_name: str, due: list[datetime]) -> None:
    """One delivery run per workspace and second at which statuses fall due, however many
    sends share that second: a run reports every status due by then, so a task per send and
    status (three per send) only made the broker and the worker busy. The run is queued
    for the end of the second, when every status due in it has fallen due.

    Redis decides which process queues a second's run. A process remembers the seconds it
    has asked about: the sends of one second share their seconds, so all but the first
    make no round trip."""
    from apps.whatsapp.tasks import sandbox_reports_deliver_task

    seconds = sorted(
        second
        for second in {math.ceil(moment.timestamp()) for moment in due}
        if (schema_name, second) not in _QUEUED
    )
    if not seconds:
        return
    asked = seconds
    try:
        pipe = redis_client().pipeline(transaction=False)
        for second in seconds:
            pipe.set(f"sandbox:delivery:{schema_name}:{second}", 1, nx=True, ex=DEDUPE_SECONDS)
        seconds = [second for second, fresh in zip(seconds, pipe.execute(), strict=True) if fresh]
    except redis.RedisError:
        logger.warning("sandbox delivery runs not deduplicated: Redis is unavailable")
    for second in seconds:
        # Short countdowns only (seconds): a lost task leaves the row, which the next
        # delivery run picks up.
        sandbox_reports_deliver_task.apply_async(
            args=[schema_name], eta=datetime.fromtimestamp(second, tz=UTC)
        )
    now = time.time()
    with _QUEUED_LOCK:
        _QUEUED.difference_update([key for key in _QUEUED if key[1] < now])
        _QUEUED.update((schema_name, second) for second in asked)


def status_pipeline() -> Callable[..., Any] | None:
    module_name, _, function_name = STATUS_PIPELINE.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return None
    return getattr(module, function_name, None)


def _status_entry(report: SandboxStatusReport) -> dict[str, Any]:
    status: dict[str, Any] = {
        "id": report.wamid,
        "status": report.status,
        "timestamp": str(int(report.due_at.timestamp())),
        "recipient_id": report.recipient,
    }
    if report.status == "failed" and report.error_code is not None:
        from apps.whatsapp.errors import error_info

        info = error_info(report.error_code)
        status["errors"] = [
            {
                "code": report.error_code,
                "title": info.title,
                "message": info.title,
                "error_data": {"details": info.fix},
            }
        ]
    return status


def webhook_payload(
    *, reports: list[SandboxStatusReport], waba_id: str, phone_number_id: str
) -> dict:
    """The reports in the shape of Meta's `messages` webhook, all in one body, in order, as
    Meta batches the statuses of one number (the pipeline then applies them in one set of
    queries instead of one transaction per status)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550000000",
                                "phone_number_id": phone_number_id,
                            },
                            "statuses": [_status_entry(report) for report in reports],
                        },
                    }
                ],
            }
        ],
    }


def deliver_due_reports(*, waba_id: str, phone_number_id: str, limit: int = 500) -> int:
    """Hand every due, unreported status of the current schema to the status pipeline.
    Returns how many were delivered. Rows are claimed with SKIP LOCKED so two workers never
    report the same status twice."""
    pipeline = status_pipeline()
    delivered = 0
    with transaction.atomic():
        due = list(
            SandboxStatusReport.objects.select_for_update(skip_locked=True)
            .filter(reported_at__isnull=True, due_at__lte=timezone.now())
            .order_by("due_at", "id")[:limit]
        )
        if due and pipeline is not None:
            pipeline(
                payload=webhook_payload(
                    reports=due, waba_id=waba_id, phone_number_id=phone_number_id
                )
            )
            delivered = len(due)
        reported_at = timezone.now() if pipeline is not None else None
        error = (
            "" if pipeline is not None else f"status pipeline {STATUS_PIPELINE} is not installed"
        )
        for report in due:
            report.attempts += 1
            report.reported_at = reported_at
            report.last_error = error
        SandboxStatusReport.objects.bulk_update(due, ["attempts", "reported_at", "last_error"])
    if due and pipeline is None:
        logger.warning("sandbox statuses kept unreported: %s is not installed", STATUS_PIPELINE)
    return delivered
