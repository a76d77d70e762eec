"""WhatsApp account services.

Rules owned here: a workspace has at most one active account; a phone number id belongs to
one workspace at a time (the public-schema route Meta's webhooks are dispatched by); the
access token is stored only encrypted and never returned; `lk_sk_test_` traffic ("test"
mode) always goes to the sandbox, whatever the account; without an active account there is
no provider (404 `no_active_waba`); the messaging limit is one of Meta's tiers or
unlimited (how much of it is used is `apps.messaging.selectors.messaging_limit_usage`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.core.errors import ApplicationError, Conflict, ValidationFailed
from apps.whatsapp.graph import GraphError
from apps.whatsapp.models import (
    DEFAULT_THROUGHPUT,
    MESSAGING_LIMIT_TIERS,
    Provider,
    WhatsAppAccount,
)
from apps.whatsapp.providers import CloudProvider, WhatsAppProvider
from apps.whatsapp.routing.models import PhoneNumberRoute
from apps.whatsapp.sandbox import SandboxProvider
from apps.whatsapp.selectors import whatsapp_account_active

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.tenancy.models import Tenant

MAX_THROUGHPUT = 1000  # messages per second: Meta's highest tier


class NoActiveWaba(ApplicationError):
    status = 404
    code = "no_active_waba"

    def __init__(self, message: str = "No active WABA account: connect WhatsApp first.") -> None:
        super().__init__(message)


def _digits_only(value: str, *, field: str, label: str) -> str:
    value = (value or "").strip()
    if not value.isdigit() or len(value) > 64:
        raise ValidationFailed(
            f"{label} is the numeric id shown in Meta's WhatsApp Manager.", field=field
        )
    return value


def _claim_route(*, tenant: Tenant, phone_number_id: str) -> None:
    route = PhoneNumberRoute.objects.filter(phone_number_id=phone_number_id).first()
    if route is not None and route.tenant_id != tenant.pk:
        raise Conflict(
            "This phone number id is connected to another workspace.", field="phone_number_id"
        )
    if route is None:
        PhoneNumberRoute.objects.create(phone_number_id=phone_number_id, tenant=tenant)


def _create_account(*, tenant: Tenant, actor: User | None, **fields: Any) -> WhatsAppAccount:
    if whatsapp_account_active() is not None:
        raise Conflict("A WhatsApp account is already connected. Disconnect it first.")
    try:
        with transaction.atomic():
            _claim_route(tenant=tenant, phone_number_id=fields["phone_number_id"])
            account = WhatsAppAccount(**fields)
            account.save()
    except IntegrityError as error:  # a concurrent connect won the race
        raise Conflict("A WhatsApp account was connected at the same time.") from error
    audit_record(
        tenant=tenant,
        actor=actor,
        action="whatsapp.connected",
        target=account.display_phone_number or account.phone_number_id,
        details={"provider": account.provider, "waba_id": account.waba_id},
    )
    return account


@transaction.atomic
def whatsapp_account_connect_cloud(
    *,
    tenant: Tenant,
    waba_id: str,
    phone_number_id: str,
    access_token: str,
    display_phone_number: str = "",
    throughput_per_second: int = DEFAULT_THROUGHPUT,
    actor: User | None,
) -> WhatsAppAccount:
    waba_id = _digits_only(waba_id, field="waba_id", label="The WABA id")
    phone_number_id = _digits_only(
        phone_number_id, field="phone_number_id", label="The phone number id"
    )
    access_token = (access_token or "").strip()
    if len(access_token) < 20:
        raise ValidationFailed(
            "Paste the system user's permanent access token.", field="access_token"
        )
    if not 1 <= throughput_per_second <= MAX_THROUGHPUT:
        raise ValidationFailed(
            f"Throughput is between 1 and {MAX_THROUGHPUT} messages per second.",
            field="throughput_per_second",
        )
    account = WhatsAppAccount(provider=Provider.CLOUD)
    account.access_token = access_token
    return _create_account(
        tenant=tenant,
        actor=actor,
        provider=Provider.CLOUD,
        waba_id=waba_id,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number.strip()[:32],
        access_token_encrypted=account.access_token_encrypted,
        throughput_per_second=throughput_per_second,
    )


@transaction.atomic
def whatsapp_account_connect_sandbox(*, tenant: Tenant, actor: User | None) -> WhatsAppAccount:
    return _create_account(
        tenant=tenant,
        actor=actor,
        provider=Provider.SANDBOX,
        waba_id=f"sandbox-{tenant.schema_name}",
        phone_number_id=f"sandbox-{tenant.schema_name}",
        display_phone_number="+1 555-000-0000",
        verified_name="Lynkist Sandbox",
        throughput_per_second=DEFAULT_THROUGHPUT,
    )


@transaction.atomic
def whatsapp_account_disconnect(
    *, tenant: Tenant, account: WhatsAppAccount, actor: User | None
) -> WhatsAppAccount:
    """Deactivate the account, forget its token and release its phone number id."""
    updated = WhatsAppAccount.objects.filter(pk=account.pk, is_active=True).update(
        is_active=False, disconnected_at=timezone.now(), access_token_encrypted=""
    )
    if not updated:
        raise Conflict("This WhatsApp account is already disconnected.")
    PhoneNumberRoute.objects.filter(phone_number_id=account.phone_number_id, tenant=tenant).delete()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="whatsapp.disconnected",
        target=account.display_phone_number or account.phone_number_id,
    )
    account.refresh_from_db()
    return account


def whatsapp_account_set_messaging_limit(
    *, tenant: Tenant, account: WhatsAppAccount, messaging_limit: Any, actor: User | None
) -> WhatsAppAccount:
    """Record the account's messaging limit tier (Meta shows it in WhatsApp Manager): one of
    250, 2,000, 10,000, 100,000, or None / "" / "unlimited" for unlimited."""
    if messaging_limit in (None, "", "unlimited"):
        limit = None
    else:
        tiers = [tier for tier, _ in MESSAGING_LIMIT_TIERS]
        try:
            limit = int(str(messaging_limit).replace(",", "").strip())
        except ValueError:
            limit = -1
        if limit not in tiers:
            allowed = ", ".join(f"{tier:,}" for tier in tiers)
            raise ValidationFailed(
                f"The messaging limit is one of Meta's tiers ({allowed}) or unlimited.",
                field="messaging_limit",
            )
    previous = account.messaging_limit
    account.messaging_limit = limit
    account.save(update_fields=["messaging_limit"])
    if previous != limit:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="whatsapp.messaging_limit_changed",
            target=account.display_phone_number or account.phone_number_id,
            details={"from": previous, "to": limit},
        )
    return account


def provider_for_account(*, account: WhatsAppAccount, mode: str = "live") -> WhatsAppProvider:
    if mode == "test" or account.provider == Provider.SANDBOX:
        return SandboxProvider(
            schema_name=connection.schema_name,
            waba_id=account.waba_id,
            phone_number_id=account.phone_number_id,
        )
    return CloudProvider(
        waba_id=account.waba_id,
        phone_number_id=account.phone_number_id,
        access_token=account.access_token,
    )


def whatsapp_provider_get(*, mode: str = "live") -> WhatsAppProvider:
    """The provider for the current workspace. `mode` is the API key's ("live" or "test")."""
    account = whatsapp_account_active()
    if account is None:
        raise NoActiveWaba()
    return provider_for_account(account=account, mode=mode)


def whatsapp_account_test_connection(*, account: WhatsAppAccount) -> dict[str, Any]:
    """Ask the Graph API about the phone number and keep what came back. Never raises for
    Meta's answer: the page shows it either way."""
    provider = provider_for_account(account=account)
    try:
        info = provider.check_connection()
    except GraphError as error:
        result = {"ok": False, "code": error.code, "message": error.message, **error.details}
    else:
        result = {"ok": True, **info}
        if info.get("verified_name"):
            account.verified_name = str(info["verified_name"])[:255]
        if info.get("display_phone_number"):
            account.display_phone_number = str(info["display_phone_number"])[:32]
    account.last_checked_at = timezone.now()
    account.last_check_ok = result["ok"]
    account.last_check_result = result
    account.save(
        update_fields=[
            "last_checked_at",
            "last_check_ok",
            "last_check_result",
            "verified_name",
            "display_phone_number",
        ]
    )
    return result
