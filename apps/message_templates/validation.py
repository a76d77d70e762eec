"""Meta's rules for a template, checked before submission so mistakes are explained here
rather than by a rejection days later. Every problem is reported, each with the field it
concerns (a dotted path into the submitted template, e.g. `components.1.text`)."""

from __future__ import annotations

import re
from typing import Any

from apps.core.errors import ValidationFailed
from apps.message_templates.models import Category

NAME_RE = re.compile(r"^[a-z0-9_]+$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
MAX_NAME = 512
MAX_BODY = 1024
MAX_HEADER_TEXT = 60
MAX_FOOTER = 60
MAX_BUTTONS = 10
MAX_BUTTON_TEXT = 25
MAX_URL = 2000
MAX_PHONE_DIGITS = 20
MAX_COPY_CODE = 15
MAX_URL_BUTTONS = 2
MAX_PHONE_BUTTONS = 1
MAX_COPY_CODE_BUTTONS = 1
HEADER_FORMATS = {"TEXT", "IMAGE", "VIDEO", "DOCUMENT"}
BUTTON_TYPES = {"QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE"}
COMPONENT_ORDER = ["HEADER", "BODY", "FOOTER", "BUTTONS"]


def placeholders(text: str) -> list[str]:
    """The placeholder names in `text`, in order of appearance (`{{1}}` gives "1")."""
    return [match.group(1) for match in PLACEHOLDER_RE.finditer(text or "")]


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append({"field": field, "message": message})


def _check_placeholders(
    errors: _Errors, text: str, *, field: str, label: str, examples: list[Any] | None, edges: bool
) -> None:
    names = placeholders(text)
    if not names:
        return
    if any(not name.isdigit() for name in names):
        errors.add(field, f"{label}: placeholders are numbers in double braces, like {{{{1}}}}.")
        return
    numbers = [int(name) for name in names]
    first_seen = list(dict.fromkeys(numbers))
    if sorted(first_seen) != list(range(1, len(first_seen) + 1)):
        errors.add(
            field,
            f"{label}: placeholders must be numbered {{{{1}}}} to "
            f"{{{{{len(first_seen)}}}}} without gaps.",
        )
    elif first_seen != sorted(first_seen):
        errors.add(
            field, f"{label}: placeholders must appear in order ({{{{1}}}} before {{{{2}}}})."
        )
    if re.search(r"\}\}\s*\{\{", text):
        errors.add(
            field,
            f"{label}: two placeholders cannot be next to each other; put words between them.",
        )
    if edges:
        stripped = text.strip()
        if PLACEHOLDER_RE.match(stripped):
            errors.add(field, f"{label} cannot start with a placeholder.")
        if re.search(r"\{\{\s*\d+\s*\}\}$", stripped):
            errors.add(field, f"{label} cannot end with a placeholder.")
    count = len(first_seen)
    if (
        examples is None
        or len(examples) < count
        or any(not str(value).strip() for value in (examples or [])[:count])
    ):
        errors.add(
            f"{field.rsplit('.', 1)[0]}.example",
            f"{label}: give an example value for every placeholder ({count}).",
        )


def _check_header(errors: _Errors, component: dict, at: str) -> None:
    fmt = str(component.get("format", "")).upper()
    if fmt not in HEADER_FORMATS:
        errors.add(f"{at}.format", "The header is text, an image, a video or a document.")
        return
    if fmt == "TEXT":
        text = str(component.get("text") or "")
        if not text.strip():
            errors.add(f"{at}.text", "A text header needs its text.")
        elif len(text) > MAX_HEADER_TEXT:
            errors.add(
                f"{at}.text",
                f"The header text is at most {MAX_HEADER_TEXT} characters ({len(text)} now).",
            )
        if len(placeholders(text)) > 1:
            errors.add(f"{at}.text", "A text header takes at most one placeholder, {{1}}.")
        else:
            example = (component.get("example") or {}).get("header_text")
            _check_placeholders(
                errors, text, field=f"{at}.text", label="The header", examples=example, edges=False
            )
    else:
        handles = (component.get("example") or {}).get("header_handle") or []
        if not handles or not str(handles[0]).strip():
            errors.add(
                f"{at}.example",
                f"A {fmt.lower()} header needs a sample {fmt.lower()} for Meta's review.",
            )


def _check_body(errors: _Errors, component: dict, at: str) -> None:
    text = str(component.get("text") or "")
    if not text.strip():
        errors.add(f"{at}.text", "The body text is required.")
        return
    if len(text) > MAX_BODY:
        errors.add(f"{at}.text", f"The body is at most {MAX_BODY} characters ({len(text)} now).")
    examples = (component.get("example") or {}).get("body_text")
    row = (
        examples[0]
        if isinstance(examples, list) and examples and isinstance(examples[0], list)
        else None
    )
    _check_placeholders(
        errors, text, field=f"{at}.text", label="The body", examples=row, edges=True
    )


def _check_footer(errors: _Errors, component: dict, at: str) -> None:
    text = str(component.get("text") or "")
    if not text.strip():
        errors.add(f"{at}.text", "A footer needs text (or remove the footer).")
    elif len(text) > MAX_FOOTER:
        errors.add(
            f"{at}.text", f"The footer is at most {MAX_FOOTER} characters ({len(text)} now)."
        )
    if placeholders(text):
        errors.add(f"{at}.text", "The footer cannot contain placeholders.")


def _check_buttons(errors: _Errors, component: dict, at: str) -> None:
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not buttons:
        errors.add(f"{at}.buttons", "Add at least one button (or remove the buttons).")
        return
    if len(buttons) > MAX_BUTTONS:
        errors.add(f"{at}.buttons", f"A template has at most {MAX_BUTTONS} buttons.")
    kinds = [str(b.get("type", "")).upper() if isinstance(b, dict) else "" for b in buttons]
    for kind, limit, label in [
        ("URL", MAX_URL_BUTTONS, "URL buttons"),
        ("PHONE_NUMBER", MAX_PHONE_BUTTONS, "phone number button"),
        ("COPY_CODE", MAX_COPY_CODE_BUTTONS, "copy code button"),
    ]:
        if kinds.count(kind) > limit:
            errors.add(f"{at}.buttons", f"At most {limit} {label} per template.")
    quick = [i for i, kind in enumerate(kinds) if kind == "QUICK_REPLY"]
    if quick and quick[-1] - quick[0] + 1 != len(quick):
        errors.add(
            f"{at}.buttons",
            "Quick reply buttons must be next to each other, not mixed with other buttons.",
        )
    for index, button in enumerate(buttons):
        where = f"{at}.buttons.{index}"
        if not isinstance(button, dict) or kinds[index] not in BUTTON_TYPES:
            errors.add(
                f"{where}.type", "A button is a quick reply, a URL, a phone number or a copy code."
            )
            continue
        text = str(button.get("text") or "")
        if kinds[index] != "COPY_CODE":
            if not text.strip():
                errors.add(f"{where}.text", "The button needs a label.")
            elif len(text) > MAX_BUTTON_TEXT:
                errors.add(
                    f"{where}.text", f"A button label is at most {MAX_BUTTON_TEXT} characters."
                )
            if placeholders(text):
                errors.add(f"{where}.text", "A button label cannot contain placeholders.")
        if kinds[index] == "URL":
            url = str(button.get("url") or "")
            if not re.match(r"^https?://[^\s/$.?#].[^\s]*$", url):
                errors.add(f"{where}.url", "The URL starts with https:// (or http://).")
            elif len(url) > MAX_URL:
                errors.add(f"{where}.url", f"The URL is at most {MAX_URL} characters.")
            names = placeholders(url)
            if names:
                if names != ["1"] or not url.rstrip().endswith("}}"):
                    errors.add(f"{where}.url", "A URL takes one placeholder, {{1}}, at its end.")
                example = button.get("example") or []
                if not example or not str(example[0]).strip():
                    errors.add(f"{where}.example", "Give an example of the URL's variable part.")
        elif kinds[index] == "PHONE_NUMBER":
            digits = re.sub(r"\D", "", str(button.get("phone_number") or ""))
            if not digits or len(digits) > MAX_PHONE_DIGITS:
                errors.add(
                    f"{where}.phone_number",
                    "Give the phone number in international format, e.g. +14155550123.",
                )
        elif kinds[index] == "COPY_CODE":
            example = str(button.get("example") or "")
            if not example.strip() or len(example) > MAX_COPY_CODE:
                errors.add(
                    f"{where}.example", f"A copy code example is 1 to {MAX_COPY_CODE} characters."
                )


_CHECKS = {
    "HEADER": _check_header,
    "BODY": _check_body,
    "FOOTER": _check_footer,
    "BUTTONS": _check_buttons,
}


def template_problems(
    *, name: str, language: str, category: str, components: Any
) -> list[dict[str, str]]:
    errors = _Errors()
    if not name:
        errors.add("name", "The name is required.")
    elif len(name) > MAX_NAME:
        errors.add("name", f"The name is at most {MAX_NAME} characters.")
    elif not NAME_RE.match(name):
        errors.add("name", "The name uses only lowercase letters, digits and underscores.")
    if not LANGUAGE_RE.match(language or ""):
        errors.add(
            "language", "The language is a WhatsApp language code such as en, en_US or pt_BR."
        )
    if category not in Category.values:
        errors.add("category", "The category is MARKETING, UTILITY or AUTHENTICATION.")
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        errors.add("components", "Components are a list of objects in Meta's template format.")
        return errors.items
    kinds = [str(c.get("type", "")).upper() for c in components]
    for index, kind in enumerate(kinds):
        if kind not in _CHECKS:
            errors.add(
                f"components.{index}.type", "A component is a HEADER, BODY, FOOTER or BUTTONS."
            )
        elif kinds.count(kind) > 1 and kinds.index(kind) != index:
            errors.add(f"components.{index}.type", f"A template has only one {kind}.")
        else:
            _CHECKS[kind](errors, components[index], f"components.{index}")
    if "BODY" not in kinds:
        errors.add("components", "A template needs a BODY.")
    return errors.items


def template_validate(*, name: str, language: str, category: str, components: Any) -> None:
    problems = template_problems(
        name=name, language=language, category=category, components=components
    )
    if problems:
        raise ValidationFailed(problems[0]["message"], field=problems[0]["field"], details=problems)
