"""Workspaces and who belongs to them.

Rules owned here: a slug is lowercase letters, digits and hyphens, unique and never one of the
site's own top-level paths; the schema is named after the slug; every workspace keeps at least
one owner; membership changes are written to the workspace's audit log.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.audit.services import audit_record
from apps.core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from apps.tenancy.models import RESERVED_SLUGS, Domain, Membership, Role, Tenant, validate_timezone
from apps.tenancy.plans import Plan
from apps.tenancy.schemas import schema_names_align

User = get_user_model()
logger = logging.getLogger(__name__)

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,46}[a-z0-9]$")


def slug_validate(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG_PATTERN.match(slug) or "--" in slug:
        raise ValidationFailed(
            "A workspace slug is 3 to 48 lowercase letters, digits and single hyphens, "
            "starting with a letter.",
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise ValidationFailed(f"“{slug}” is reserved; choose another slug.", field="slug")
    return slug


def schema_name_for(slug: str) -> str:
    return slug.replace("-", "_")


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    owner: User | None = None,
    plan: str = Plan.FREE,
    timezone: str = "UTC",
) -> Tenant:
    """Create a workspace and its schema (cloned from the template), with `owner` as owner."""
    slug = slug_validate(slug)
    if plan not in dict(Plan.CHOICES):
        raise ValidationFailed(f"Unknown plan “{plan}”.", field="plan")
    _timezone_validate(timezone)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("A workspace needs a name.", field="name")
    schema_name = schema_name_for(slug)
    if (
        Tenant.objects.filter(slug=slug).exists()
        or Tenant.objects.filter(schema_name=schema_name).exists()
    ):
        raise Conflict(f"The slug “{slug}” is already taken.", field="slug")

    tenant = Tenant(slug=slug, name=name, plan=plan, timezone=timezone, schema_name=schema_name)
    tenant.save(verbosity=0)
    schema_names_align(schema_name)
    Domain.objects.create(tenant=tenant, domain=f"{slug}.lynkist.local", is_primary=True)
    if owner is not None:
        membership_add(tenant=tenant, user=owner, role=Role.OWNER, actor=None)
    return tenant


def _timezone_validate(timezone: str) -> None:
    try:
        validate_timezone(timezone)
    except ValidationError as error:
        raise ValidationFailed(error.messages[0], field="timezone") from error


def tenant_update(*, tenant: Tenant, actor: User, name: str, timezone: str) -> Tenant:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("A workspace needs a name.", field="name")
    _timezone_validate(timezone)
    changes = {
        field: [getattr(tenant, field), value]
        for field, value in {"name": name, "timezone": timezone}.items()
        if getattr(tenant, field) != value
    }
    if not changes:
        return tenant
    with transaction.atomic():
        tenant.name = name
        tenant.timezone = timezone
        tenant.save(update_fields=["name", "timezone"])
        audit_record(tenant=tenant, actor=actor, action="workspace.updated", details=changes)
    return tenant


def _normalise_email(email: str) -> str:
    email = (email or "").strip()
    local, _, domain = email.rpartition("@")
    if not local or not domain or " " in email:
        raise ValidationFailed("Enter a valid e-mail address.", field="email")
    return f"{local}@{domain.lower()}"


def _role_validate(role: str) -> Role:
    try:
        return Role(role)
    except ValueError as error:
        raise ValidationFailed(f"Unknown role “{role}”.", field="role") from error


def membership_add(*, tenant: Tenant, user: User, role: str, actor: User | None) -> Membership:
    role = _role_validate(role)
    try:
        with transaction.atomic():
            membership = Membership.objects.create(tenant=tenant, user=user, role=role)
    except IntegrityError as error:
        raise Conflict(f"{user.email} is already a member of this workspace.") from error
    audit_record(
        tenant=tenant,
        actor=actor,
        action="member.added",
        target=user.email,
        details={"role": role.value},
    )
    return membership


@transaction.atomic
def membership_invite(
    *, tenant: Tenant, email: str, role: str, actor: User, actor_role: str
) -> tuple[Membership, bool]:
    """Add a person by e-mail; a new address gets an account without a password (they set it
    from the invitation link). Returns the membership and whether the user is new."""
    email = _normalise_email(email)
    if _role_validate(role) == Role.OWNER and actor_role != Role.OWNER:
        raise ApplicationError(
            "Only an owner can invite another owner.", code="owner_required", status=403
        )
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(email=email, password=None)
    membership = membership_add(tenant=tenant, user=user, role=role, actor=actor)
    link = invitation_link(user=user) if created else settings.SITE_URL + "/"
    message = (
        f"{actor.display_name} added you to the {tenant.name} workspace as "
        f"{Role(role).label.lower()}.\n\nOpen it here: {link}\n"
    )
    transaction.on_commit(
        lambda: _email_send(
            to=user.email, subject=f"You have been added to {tenant.name} on Lynkist", body=message
        )
    )
    return membership, created


def _email_send(*, to: str, subject: str, body: str) -> None:
    # The membership is already saved and the admin sees the link on the page, so a mail
    # server that is down is logged rather than turned into an error after the fact.
    try:
        send_mail(subject=subject, message=body, from_email=None, recipient_list=[to])
    except Exception:
        logger.exception("invitation e-mail failed", extra={"to": to})


def invitation_link(*, user: User) -> str:
    """A one-time link where an invited person sets their password (Django's reset token,
    which stops working once the password is set)."""
    path = reverse(
        "accounts:password-set",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.SITE_URL.rstrip("/") + path


def _other_owners_exist(membership: Membership) -> bool:
    return (
        Membership.objects.select_for_update()
        .filter(tenant=membership.tenant, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


def _membership_locked(*, tenant: Tenant, membership_id: int) -> Membership:
    membership = (
        Membership.objects.select_for_update()
        .select_related("user", "tenant")
        .filter(tenant=tenant, pk=membership_id)
        .first()
    )
    if membership is None:
        raise NotFound("That member does not exist in this workspace.")
    return membership


@transaction.atomic
def membership_change_role(
    *, tenant: Tenant, membership_id: int, role: str, actor: User, actor_role: str
) -> Membership:
    role = _role_validate(role)
    membership = _membership_locked(tenant=tenant, membership_id=membership_id)
    _only_owners_touch_owners(membership=membership, new_role=role, actor_role=actor_role)
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER and not _other_owners_exist(membership):
        raise ApplicationError(
            "The last owner cannot be demoted; make someone else an owner first.",
            code="last_owner",
        )
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="member.role_changed",
        target=membership.user.email,
        details={"from": previous, "to": role.value},
    )
    return membership


@transaction.atomic
def membership_remove(*, tenant: Tenant, membership_id: int, actor: User, actor_role: str) -> None:
    membership = _membership_locked(tenant=tenant, membership_id=membership_id)
    _only_owners_touch_owners(membership=membership, new_role=None, actor_role=actor_role)
    if membership.role == Role.OWNER and not _other_owners_exist(membership):
        raise ApplicationError(
            "The last owner cannot be removed; make someone else an owner first.",
            code="last_owner",
        )
    email = membership.user.email
    membership.delete()
    audit_record(tenant=tenant, actor=actor, action="member.removed", target=email)


def _only_owners_touch_owners(
    *, membership: Membership, new_role: Role | None, actor_role: str
) -> None:
    """Admins manage the team, but only an owner may create, demote or remove an owner."""
    if actor_role == Role.OWNER:
        return
    if membership.role == Role.OWNER or new_role == Role.OWNER:
        raise ApplicationError(
            "Only an owner can change or remove an owner.", code="owner_required", status=403
        )
