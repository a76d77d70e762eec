"""The template builder: a flat form (one input per part) that becomes Meta's component list.
The rules themselves live in validation.py; this only shapes input and maps errors back."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from apps.message_templates.models import Category

HEADER_CHOICES = [
    ("", "No header"),
    ("TEXT", "Text"),
    ("IMAGE", "Image"),
    ("VIDEO", "Video"),
    ("DOCUMENT", "Document"),
]
BUTTON_CHOICES = [
    ("", "—"),
    ("QUICK_REPLY", "Quick reply"),
    ("URL", "Visit website"),
    ("PHONE_NUMBER", "Call phone number"),
    ("COPY_CODE", "Copy code"),
]
BUTTON_ROWS = 3


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class TemplateBuilderForm(forms.Form):
    name = forms.CharField(
        max_length=512, help_text="Lowercase letters, digits and underscores, e.g. spring_sale."
    )
    language = forms.CharField(max_length=16, initial="en_US", help_text="e.g. en_US, pt_BR, hi.")
    category = forms.ChoiceField(choices=Category.choices, initial=Category.MARKETING)
    header_format = forms.ChoiceField(choices=HEADER_CHOICES, required=False, label="Header")
    header_text = forms.CharField(max_length=200, required=False, label="Header text")
    header_example = forms.CharField(
        max_length=200, required=False, label="Header sample value", help_text="For {{1}}."
    )
    header_handle = forms.CharField(
        max_length=500,
        required=False,
        label="Header sample media",
        help_text="A media handle or URL Meta can review.",
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Up to 1,024 characters. Placeholders {{1}}, {{2}}… in order.",
    )
    body_examples = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Sample values",
        help_text="One per line: line 1 fills {{1}}, line 2 fills {{2}}…",
    )
    footer = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(BUTTON_ROWS):
            self.fields[f"button_{n}_type"] = forms.ChoiceField(
                choices=BUTTON_CHOICES, required=False, label=f"Button {n + 1}"
            )
            self.fields[f"button_{n}_text"] = forms.CharField(
                max_length=100, required=False, label="Label"
            )
            self.fields[f"button_{n}_value"] = forms.CharField(
                max_length=2000, required=False, label="URL, phone or code"
            )
            self.fields[f"button_{n}_example"] = forms.CharField(
                max_length=200, required=False, label="Sample for {{1}} in the URL"
            )
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("data-builder", name)

    def button_rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"button_{n}_{part}"] for part in ("type", "text", "value", "example")]
            for n in range(BUTTON_ROWS)
        ]

    def components(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """(Meta's component list, a map from component paths to form fields)."""
        data = self.cleaned_data
        components: list[dict[str, Any]] = []
        where: dict[str, str] = {}
        fmt = data.get("header_format") or ""
        if fmt:
            at = f"components.{len(components)}"
            header: dict[str, Any] = {"type": "HEADER", "format": fmt}
            if fmt == "TEXT":
                header["text"] = data.get("header_text", "")
                if re.search(r"\{\{", header["text"]) and data.get("header_example"):
                    header["example"] = {"header_text": [data["header_example"]]}
                where.update({f"{at}.text": "header_text", f"{at}.example": "header_example"})
            else:
                if data.get("header_handle"):
                    header["example"] = {"header_handle": [data["header_handle"]]}
                where[f"{at}.example"] = "header_handle"
            where[f"{at}.format"] = "header_format"
            components.append(header)
        at = f"components.{len(components)}"
        body: dict[str, Any] = {"type": "BODY", "text": data.get("body", "")}
        examples = _lines(data.get("body_examples", ""))
        if examples:
            body["example"] = {"body_text": [examples]}
        where.update({f"{at}.text": "body", f"{at}.example": "body_examples"})
        components.append(body)
        if data.get("footer"):
            where[f"components.{len(components)}.text"] = "footer"
            components.append({"type": "FOOTER", "text": data["footer"]})
        buttons = []
        at = f"components.{len(components)}"
        for n in range(BUTTON_ROWS):
            kind = data.get(f"button_{n}_type")
            if not kind:
                continue
            button: dict[str, Any] = {"type": kind, "text": data.get(f"button_{n}_text", "")}
            value = data.get(f"button_{n}_value", "")
            if kind == "URL":
                button["url"] = value
                if data.get(f"button_{n}_example"):
                    button["example"] = [data[f"button_{n}_example"]]
            elif kind == "PHONE_NUMBER":
                button["phone_number"] = value
            elif kind == "COPY_CODE":
                button = {"type": kind, "example": value}
            index = len(buttons)
            where.update(
                {
                    f"{at}.buttons.{index}.text": f"button_{n}_text",
                    f"{at}.buttons.{index}.url": f"button_{n}_value",
                    f"{at}.buttons.{index}.phone_number": f"button_{n}_value",
                    f"{at}.buttons.{index}.type": f"button_{n}_type",
                    f"{at}.buttons.{index}.example": (
                        f"button_{n}_example" if kind == "URL" else f"button_{n}_value"
                    ),
                }
            )
            buttons.append(button)
        if buttons:
            components.append({"type": "BUTTONS", "buttons": buttons})
        return components, where
