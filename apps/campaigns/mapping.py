"""The variable mapping: which contact field or fixed value fills each template placeholder.

    {"header": {"1": {"value": "May sale"}},
     "body": {"1": {"field": "first_name", "fallback": "there"},
              "2": {"field": "custom_fields.order_id"}},
     "buttons": {"0": {"1": {"field": "custom_fields.order_id"}}}}

A media header takes `{"header": {"media_id": "<uuid>"}}`.

`mapping_validate` checks a mapping against a template and reports every problem at once.
`values_sql` turns a mapping into one SQL expression that builds a contact's values (the
shape `apps.message_templates.rendering` takes), so materialisation resolves a million
contacts in the database and the preview resolves one contact with the very same expression.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from apps.core.errors import ValidationFailed
from apps.message_templates.models import MessageTemplate
from apps.message_templates.rendering import template_placeholders

CONTACT_FIELDS = ("first_name", "last_name", "phone", "email", "company", "job_title", "status")
CUSTOM_FIELD_RE = re.compile(r"^custom_fields\.([A-Za-z0-9_\-]{1,64})$")
MEDIA_FORMATS = {"IMAGE", "VIDEO", "DOCUMENT"}
ENTRY_KEYS = {"field", "value", "fallback"}


def field_is_known(name: str) -> bool:
    return name in CONTACT_FIELDS or bool(CUSTOM_FIELD_RE.match(name))


def media_header_format(template: MessageTemplate) -> str:
    header = template.component("HEADER") or {}
    fmt = str(header.get("format", "")).upper()
    return fmt if fmt in MEDIA_FORMATS else ""


def _check_entry(entry: Any, where: str, problems: list[dict[str, str]]) -> None:
    if not isinstance(entry, dict):
        problems.append({"field": where, "message": "Must be an object with field or value."})
        return
    unknown = set(entry) - ENTRY_KEYS
    if unknown:
        problems.append(
            {"field": where, "message": f"Unknown key(s): {', '.join(sorted(unknown))}."}
        )
    has_field, has_value = "field" in entry, "value" in entry
    if has_field == has_value:
        problems.append({"field": where, "message": "Give exactly one of field or value."})
    if has_field:
        name = entry["field"]
        if not isinstance(name, str) or not field_is_known(name):
            problems.append(
                {
                    "field": f"{where}.field",
                    "message": f"Unknown contact field {name!r}; use one of "
                    f"{', '.join(CONTACT_FIELDS)} or custom_fields.<key>.",
                }
            )
    if has_value and (not isinstance(entry["value"], str | int | float) or entry["value"] == ""):
        problems.append({"field": f"{where}.value", "message": "Must be a non-empty text."})
    if "fallback" in entry and not isinstance(entry["fallback"], str | int | float):
        problems.append({"field": f"{where}.fallback", "message": "Must be a text."})


def _check_part(given: Any, wanted: list[str], where: str, problems: list[dict[str, str]]) -> None:
    if not isinstance(given, dict):
        problems.append({"field": where, "message": "Must be an object keyed by placeholder."})
        return
    for name in wanted:
        if name not in given:
            problems.append(
                {"field": f"{where}.{name}", "message": f"{{{{{name}}}}} is not mapped."}
            )
    for name, entry in given.items():
        if name not in wanted:
            problems.append(
                {
                    "field": f"{where}.{name}",
                    "message": f"{{{{{name}}}}} is not a placeholder here.",
                }
            )
            continue
        _check_entry(entry, f"{where}.{name}", problems)


def mapping_problems(*, template: MessageTemplate, mapping: Any) -> list[dict[str, str]]:
    """Every problem of `mapping` for `template`, as `{"field", "message"}` items."""
    root = "variable_mapping"
    wanted = template_placeholders(template.components)
    media = media_header_format(template)
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, dict):
        return [{"field": root, "message": "Must be an object."}]
    problems: list[dict[str, str]] = []
    for key in mapping:
        if key not in ("header", "body", "buttons"):
            problems.append({"field": f"{root}.{key}", "message": "Not a template component."})
    # Header: text placeholders, or the media of a media header.
    if media:
        header = mapping.get("header")
        media_id = header.get("media_id") if isinstance(header, dict) else None
        if not isinstance(header, dict) or set(header) != {"media_id"}:
            problems.append(
                {
                    "field": f"{root}.header",
                    "message": f'The {media.lower()} header needs {{"media_id": "<uuid>"}}.',
                }
            )
        elif not _media_exists(media_id):
            problems.append({"field": f"{root}.header.media_id", "message": "No such media."})
    elif "header" in wanted or "header" in mapping:
        _check_part(mapping.get("header", {}), wanted.get("header", []), f"{root}.header", problems)
    if "body" in wanted or "body" in mapping:
        _check_part(mapping.get("body", {}), wanted.get("body", []), f"{root}.body", problems)
    buttons_wanted = wanted.get("buttons", {})
    if buttons_wanted or "buttons" in mapping:
        given = mapping.get("buttons", {})
        if not isinstance(given, dict):
            problems.append({"field": f"{root}.buttons", "message": "Must be an object."})
        else:
            for index in set(buttons_wanted) | set(given):
                if index not in buttons_wanted:
                    problems.append(
                        {
                            "field": f"{root}.buttons.{index}",
                            "message": "This button takes no variable.",
                        }
                    )
                    continue
                _check_part(
                    given.get(index, {}), buttons_wanted[index], f"{root}.buttons.{index}", problems
                )
    return problems


def _media_exists(media_id: Any) -> bool:
    from apps.media.models import Media

    try:
        return Media.objects.filter(pk=uuid.UUID(str(media_id))).exists()
    except ValueError:
        return False


def mapping_validate(*, template: MessageTemplate, mapping: Any) -> dict[str, Any] | None:
    """The mapping, or 422 listing every problem (the first one in the message)."""
    problems = mapping_problems(template=template, mapping=mapping)
    if problems:
        first = problems[0]
        raise ValidationFailed(
            f"{first['field']}: {first['message']}", field=first["field"], details=problems
        )
    return mapping or None


def mapped_fields(mapping: dict[str, Any] | None) -> list[str]:
    """The contact fields a mapping reads, in order, once each (for coverage warnings)."""
    names: list[str] = []

    def visit(part: Any) -> None:
        if isinstance(part, dict):
            if isinstance(part.get("field"), str):
                names.append(part["field"])
            else:
                for value in part.values():
                    visit(value)

    visit(mapping or {})
    return list(dict.fromkeys(names))


# ------------------------------------------------------------------------------------------
# SQL
# ------------------------------------------------------------------------------------------
def field_sql(name: str, alias: str = "c") -> tuple[str, list[Any]]:
    """A contact field as trimmed text, NULL when empty."""
    if name in CONTACT_FIELDS:
        return f"NULLIF(btrim({alias}.{name}), '')", []
    match = CUSTOM_FIELD_RE.match(name)
    if not match:
        raise ValueError(f"unknown field {name!r}")
    return f"NULLIF(btrim({alias}.custom_fields ->> %s), '')", [match.group(1)]


def _entry_sql(entry: dict[str, Any], alias: str) -> tuple[str, list[Any]]:
    if "value" in entry:
        return "%s::text", [str(entry["value"])]
    expr, params = field_sql(entry["field"], alias)
    if entry.get("fallback") not in (None, ""):
        return f"COALESCE({expr}, %s::text)", [*params, str(entry["fallback"])]
    return expr, params


def _object_sql(items: list[tuple[str, tuple[str, list[Any]]]]) -> tuple[str, list[Any]]:
    if not items:
        return "'{}'::jsonb", []
    parts, params = [], []
    for key, (expr, values) in items:
        parts.append(f"%s::text, {expr}")
        params += [key, *values]
    return f"jsonb_build_object({', '.join(parts)})", params


def values_sql(mapping: dict[str, Any] | None, alias: str = "c") -> tuple[str, list[Any]]:
    """One SQL expression (jsonb) with a contact's values in the rendering shape: a field that
    is empty with no fallback is JSON null, which the send refuses (`lk_missing_variable`)."""
    mapping = mapping or {}
    top: list[tuple[str, tuple[str, list[Any]]]] = []
    for part in ("header", "body"):
        given = mapping.get(part)
        if isinstance(given, dict) and "media_id" not in given:
            entries = [(k, _entry_sql(v, alias)) for k, v in sorted(given.items())]
            top.append((part, _object_sql(entries)))
    buttons = mapping.get("buttons") or {}
    if buttons:
        per_button = []
        for index, given in sorted(buttons.items()):
            entries = [(k, _entry_sql(v, alias)) for k, v in sorted(given.items())]
            per_button.append((index, _object_sql(entries)))
        top.append(("buttons", _object_sql(per_button)))
    return _object_sql(top)
