"""The template as a contact would receive it: the preview, and the test send.

- A preview resolves values with the SQL materialisation uses and renders text as sends do.
- A test send (dashboard only) goes through messaging's one send service with the mapping
  rendered for a sample contact; it is a Message, never a campaign recipient.
"""

from __future__ import annotations

import uuid
from typing import Any

from apps.campaigns import mapping as mapping_rules
from apps.campaigns import selectors
from apps.campaigns.models import Campaign
from apps.core.errors import ApplicationError, NotFound, ValidationFailed
from apps.message_templates.models import MessageTemplate


def campaign_preview(*, campaign: Campaign, contact_id: Any = None) -> dict[str, Any]:
    """The template as one contact would receive it: values resolved by the SQL that
    materialisation uses, text by the renderer sends use. Without a contact, the audience's
    first one."""
    from apps.message_templates.rendering import template_render

    if contact_id is None:
        first = (
            selectors.campaign_audience_contacts(campaign=campaign)
            .order_by("created_at", "id")
            .values_list("id", flat=True)
            .first()
        )
        if first is None:
            raise ApplicationError("The audience is empty: there is no contact to preview.")
        contact_id = first
    else:
        try:
            contact_id = uuid.UUID(str(contact_id))
        except ValueError:
            raise NotFound("Contact not found.") from None
    values = selectors.contact_values(mapping=campaign.variable_mapping, contact_id=contact_id)
    missing = [
        f"{part}.{name}"
        for part in ("header", "body")
        for name, value in (values.get(part) or {}).items()
        if value is None
    ]
    rendered = template_render(
        components=campaign.template.components,
        values={k: v for k, v in values.items() if k != "header" or isinstance(v, dict)},
        strict=False,
    )
    resolved: list[dict[str, Any]] = []
    if rendered.header_format == "TEXT":
        resolved.append({"type": "HEADER", "format": "TEXT", "text": rendered.header_text})
    elif rendered.header_format:
        resolved.append({"type": "HEADER", "format": rendered.header_format})
    if rendered.body:
        resolved.append({"type": "BODY", "text": rendered.body})
    if rendered.footer:
        resolved.append({"type": "FOOTER", "text": rendered.footer})
    if rendered.buttons:
        resolved.append({"type": "BUTTONS", "buttons": rendered.buttons})
    return {
        "campaign_id": str(campaign.pk),
        "sample_contact_id": str(contact_id),
        "resolved_components": resolved,
        "missing_variables": missing,
    }


def header_media_param(mapping: dict | None) -> dict | None:
    """The send parameter of a media header (`{"id": <Meta media id>}`), when the mapping
    names uploaded media that WhatsApp knows."""
    header = (mapping or {}).get("header")
    if not isinstance(header, dict) or "media_id" not in header:
        return None
    from apps.media.models import Media

    media = Media.objects.filter(pk=header["media_id"]).first()
    if media is None or not media.meta_media_id:
        return None
    return {"id": media.meta_media_id}


def campaign_test_send(
    *,
    template: MessageTemplate,
    variable_mapping: Any,
    to: str,
    sample_contact_id: Any = None,
    mode: str = "live",
) -> Any:
    """Send the template, filled by the mapping for a sample contact, to one number through
    messaging's send service. It records a Message (origin `campaign_test`) and nothing of a
    campaign: the number is not a recipient and no counter moves."""
    from apps.contacts.services import phone_normalize
    from apps.message_templates.rendering import template_send_components
    from apps.messaging.services import message_send_template

    try:
        phone = phone_normalize(to)
    except ApplicationError:
        phone = None
    if not phone:
        raise ValidationFailed(
            "Enter the WhatsApp number with its country code, e.g. +14155550123.",
            field="test_phone",
        )
    mapping = mapping_rules.mapping_validate(template=template, mapping=variable_mapping)
    contact_id = None
    if sample_contact_id not in (None, ""):
        try:
            contact_id = uuid.UUID(str(sample_contact_id))
        except ValueError:
            raise ValidationFailed(
                "Pick the sample contact again.", field="sample_contact"
            ) from None
    elif mapping_rules.mapped_fields(mapping):
        raise ValidationFailed(
            "The variables come from contact fields: choose an audience so there is a sample "
            "contact to fill them from.",
            field="sample_contact",
        )
    values = selectors.contact_values(mapping=mapping, contact_id=contact_id)
    media = header_media_param(mapping)
    if media:
        values["header"] = media
    try:
        components = template_send_components(components=template.components, values=values)
    except ValidationFailed as error:
        raise ValidationFailed(
            f"The sample contact leaves a variable empty: {error.message}", field="sample_contact"
        ) from None
    return message_send_template(
        to=phone,
        template_name=template.name,
        language=template.language,
        components=components,
        mode=mode,
        origin="campaign_test",
    )
