"""WhatsApp's text markup for previews: *bold*, _italic_, ~strikethrough~ and line breaks,
applied after escaping (the same rules as static/js/template_builder.js)."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_MARKUP = [
    (re.compile(r"\*([^*\n]+)\*"), r"<strong>\1</strong>"),
    (re.compile(r"_([^_\n]+)_"), r"<em>\1</em>"),
    (re.compile(r"~([^~\n]+)~"), r"<del>\1</del>"),
]


@register.filter
def whatsapp_markup(text: str) -> SafeString:
    html = escape(text or "")
    for pattern, replacement in _MARKUP:
        html = pattern.sub(replacement, html)
    return mark_safe(html.replace("\n", "<br>"))  # noqa: S308 (escaped above)
