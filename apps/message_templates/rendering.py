"""Rendering a template with values: the one function previews, sends and campaigns use.

Values are given per component, the same keys as a campaign's variable mapping:
`{"header": {"1": "May sale"}, "body": {"1": "Ana", "2": "A-1001"},
"buttons": {"0": {"1": "A-1001"}}}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apps.core.errors import ValidationFailed
from apps.message_templates.validation import PLACEHOLDER_RE, placeholders


@dataclass
class RenderedTemplate:
    header_format: str = ""  # TEXT, IMAGE, VIDEO, DOCUMENT or "" without a header
    header_text: str = ""
    body: str = ""
    footer: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "header": {"format": self.header_format, "text": self.header_text}
            if self.header_format
            else None,
            "body": self.body,
            "footer": self.footer,
            "buttons": self.buttons,
        }


def _by_type(components: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(c.get("type", "")).upper(): c for c in components if isinstance(c, dict)}


def template_placeholders(components: list[dict[str, Any]]) -> dict[str, Any]:
    """Which placeholders each component has: `{"header": ["1"], "body": ["1", "2"],
    "buttons": {"0": ["1"]}}` (empty parts left out). Campaign mappings are checked against it."""
    parts = _by_type(components)
    result: dict[str, Any] = {}
    header = parts.get("HEADER")
    if header and str(header.get("format", "")).upper() == "TEXT":
        names = list(dict.fromkeys(placeholders(header.get("text", ""))))
        if names:
            result["header"] = names
    body = parts.get("BODY")
    if body:
        names = list(dict.fromkeys(placeholders(body.get("text", ""))))
        if names:
            result["body"] = names
    buttons = {}
    for index, button in enumerate((parts.get("BUTTONS") or {}).get("buttons") or []):
        if str(button.get("type", "")).upper() == "URL" and placeholders(button.get("url", "")):
            buttons[str(index)] = ["1"]
    if buttons:
        result["buttons"] = buttons
    return result


def _examples(component: dict[str, Any], kind: str) -> dict[str, str]:
    example = component.get("example") or {}
    if kind == "HEADER":
        values = example.get("header_text") or []
    elif kind == "BODY":
        rows = example.get("body_text") or [[]]
        values = rows[0] if rows and isinstance(rows[0], list) else []
    else:  # a URL button
        values = component.get("example") or []
        values = values if isinstance(values, list) else [values]
    return {str(i + 1): str(v) for i, v in enumerate(values)}


def _fill(text: str, values: dict[str, Any], *, where: str, strict: bool) -> str:
    def replace(match) -> str:
        name = match.group(1)
        value = values.get(name)
        if value is None or str(value) == "":
            if strict:
                raise ValidationFailed(
                    f"No value for {{{{{name}}}}} in the {where}.",
                    code="lk_missing_variable",
                    field=f"{where}.{name}",
                )
            return match.group(0)
        return str(value)

    return PLACEHOLDER_RE.sub(replace, text or "")


def template_render(
    *,
    components: list[dict[str, Any]],
    values: dict[str, Any] | None = None,
    use_examples: bool = False,
    strict: bool = True,
) -> RenderedTemplate:
    """The text a recipient sees. With `use_examples`, placeholders without a value take the
    template's examples (previews); with `strict`, a placeholder left without any value raises
    `lk_missing_variable` (sends never go out with a blank)."""
    values = values or {}
    parts = _by_type(components)
    rendered = RenderedTemplate()

    def merged(
        kind: str, component: dict[str, Any], given: dict[str, Any] | None
    ) -> dict[str, Any]:
        base = _examples(component, kind) if use_examples else {}
        return {**base, **{str(k): v for k, v in (given or {}).items()}}

    if header := parts.get("HEADER"):
        rendered.header_format = str(header.get("format", "")).upper()
        if rendered.header_format == "TEXT":
            rendered.header_text = _fill(
                header.get("text", ""),
                merged("HEADER", header, values.get("header")),
                where="header",
                strict=strict,
            )
    if body := parts.get("BODY"):
        rendered.body = _fill(
            body.get("text", ""),
            merged("BODY", body, values.get("body")),
            where="body",
            strict=strict,
        )
    if footer := parts.get("FOOTER"):
        rendered.footer = str(footer.get("text", ""))
    button_values = values.get("buttons") or {}
    for index, button in enumerate((parts.get("BUTTONS") or {}).get("buttons") or []):
        kind = str(button.get("type", "")).upper()
        item = {"type": kind, "text": str(button.get("text", ""))}
        if kind == "URL":
            given = button_values.get(str(index)) or {}
            item["url"] = _fill(
                button.get("url", ""),
                merged("URL", button, given),
                where=f"buttons.{index}",
                strict=strict,
            )
        elif kind == "PHONE_NUMBER":
            item["phone_number"] = str(button.get("phone_number", ""))
        elif kind == "COPY_CODE":
            item["text"] = item["text"] or "Copy code"
        rendered.buttons.append(item)
    return rendered


def template_send_components(
    *, components: list[dict[str, Any]], values: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Meta's `template.components` send parameters for these values. A media header takes
    `values["header"] = {"id": "<meta media id>"}` or `{"link": "https://..."}`."""
    values = values or {}
    wanted = template_placeholders(components)
    parts = _by_type(components)
    result: list[dict[str, Any]] = []
    header = parts.get("HEADER")
    if header:
        fmt = str(header.get("format", "")).upper()
        if fmt in {"IMAGE", "VIDEO", "DOCUMENT"}:
            media = values.get("header") or {}
            if not _is_media(media):
                raise ValidationFailed(
                    f"The {fmt.lower()} header needs media.", field="header.media_id"
                )
            key = "id" if media.get("id") else "link"
            result.append(
                {
                    "type": "header",
                    "parameters": [{"type": fmt.lower(), fmt.lower(): {key: media[key]}}],
                }
            )
        elif "header" in wanted:
            result.append(
                {
                    "type": "header",
                    "parameters": _text_params(wanted["header"], values.get("header"), "header"),
                }
            )
    if "body" in wanted:
        result.append(
            {"type": "body", "parameters": _text_params(wanted["body"], values.get("body"), "body")}
        )
    for index, names in (wanted.get("buttons") or {}).items():
        given = (values.get("buttons") or {}).get(index)
        result.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": index,
                "parameters": _text_params(names, given, f"buttons.{index}"),
            }
        )
    return result


def _is_media(value: Any) -> bool:
    return isinstance(value, dict) and bool(value.get("id") or value.get("link"))


def _text_params(
    names: list[str], given: dict[str, Any] | None, where: str
) -> list[dict[str, str]]:
    given = given or {}
    params = []
    for name in names:
        value = given.get(name)
        if value is None or str(value) == "":
            raise ValidationFailed(
                f"No value for {{{{{name}}}}} in the {where}.",
                code="lk_missing_variable",
                field=f"{where}.{name}",
            )
        params.append({"type": "text", "text": str(value)})
    return params
