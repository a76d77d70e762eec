"""The provider interface every send, template and media call goes through, and its two
implementations: `CloudProvider` (the Graph API client) and `SandboxProvider` (simulated; see
apps.whatsapp.sandbox). Callers get one with `apps.whatsapp.services.whatsapp_provider_get`.

Every operation has an async form (bulk paths run many on one event loop) and a sync form
(single calls from views, services and tasks). Failures raise `GraphError` in both providers,
so callers handle one exception type.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from apps.whatsapp.graph import GraphClient, run_sync


@dataclass(frozen=True)
class SendResult:
    wamid: str
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TemplateSubmission:
    meta_id: str
    status: str
    category: str = ""


class WhatsAppProvider(abc.ABC):
    name: str
    waba_id: str
    phone_number_id: str

    # -- async API (bulk) ----------------------------------------------------------------
    @abc.abstractmethod
    async def send_template_async(
        self, *, to: str, name: str, language: str, components: list[dict[str, Any]] | None = None
    ) -> SendResult: ...

    @abc.abstractmethod
    async def check_connection_async(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    async def submit_template_async(self, *, payload: dict[str, Any]) -> TemplateSubmission: ...

    @abc.abstractmethod
    async def delete_template_async(self, *, name: str, meta_id: str | None) -> None: ...

    @abc.abstractmethod
    async def list_templates_async(self) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    async def upload_media_async(self, *, content: bytes, mime_type: str, filename: str) -> str: ...

    # -- sync API (single calls) ---------------------------------------------------------
    def send_template(
        self, *, to: str, name: str, language: str, components: list[dict[str, Any]] | None = None
    ) -> SendResult:
        return run_sync(
            self.send_template_async(to=to, name=name, language=language, components=components)
        )

    def check_connection(self) -> dict[str, Any]:
        return run_sync(self.check_connection_async())

    def submit_template(self, *, payload: dict[str, Any]) -> TemplateSubmission:
        return run_sync(self.submit_template_async(payload=payload))

    def delete_template(self, *, name: str, meta_id: str | None) -> None:
        return run_sync(self.delete_template_async(name=name, meta_id=meta_id))

    def list_templates(self) -> list[dict[str, Any]]:
        return run_sync(self.list_templates_async())

    def upload_media(self, *, content: bytes, mime_type: str, filename: str) -> str:
        return run_sync(
            self.upload_media_async(content=content, mime_type=mime_type, filename=filename)
        )


class CloudProvider(WhatsAppProvider):
    name = "cloud"

    def __init__(
        self,
        *,
        waba_id: str,
        phone_number_id: str,
        access_token: str,
        base_url: str | None = None,
    ) -> None:
        self.waba_id = waba_id
        self.phone_number_id = phone_number_id
        self.client = GraphClient(access_token=access_token, base_url=base_url)

    async def send_template_async(
        self, *, to: str, name: str, language: str, components: list[dict[str, Any]] | None = None
    ) -> SendResult:
        body = await self.client.send_template(
            phone_number_id=self.phone_number_id,
            to=to,
            name=name,
            language=language,
            components=components,
        )
        return SendResult(wamid=str(body["messages"][0]["id"]), raw=body)

    async def check_connection_async(self) -> dict[str, Any]:
        return await self.client.get_phone_number(phone_number_id=self.phone_number_id)

    async def submit_template_async(self, *, payload: dict[str, Any]) -> TemplateSubmission:
        body = await self.client.create_template(waba_id=self.waba_id, payload=payload)
        return TemplateSubmission(
            meta_id=str(body["id"]),
            status=str(body.get("status") or "PENDING"),
            category=str(body.get("category") or ""),
        )

    async def delete_template_async(self, *, name: str, meta_id: str | None) -> None:
        await self.client.delete_template(waba_id=self.waba_id, name=name, meta_id=meta_id)

    async def list_templates_async(self) -> list[dict[str, Any]]:
        return await self.client.list_templates(waba_id=self.waba_id)

    async def upload_media_async(self, *, content: bytes, mime_type: str, filename: str) -> str:
        return await self.client.upload_media(
            phone_number_id=self.phone_number_id,
            content=content,
            mime_type=mime_type,
            filename=filename,
        )
