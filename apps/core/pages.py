"""Helpers for htmx pages that also work as plain pages."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

DEFAULT_PAGE_SIZE = 25


def paginate(request: HttpRequest, items, *, per_page: int = DEFAULT_PAGE_SIZE) -> Page:
    """The requested page of `items`; out-of-range or malformed page numbers give the nearest
    valid page instead of an error, as a bookmarked URL may be older than the data."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def template_for(request: HttpRequest, template_name: str, partial: str) -> str:
    """The whole page, or only its named partial when htmx asks for a fragment of it."""
    if getattr(request, "htmx", False) and not request.htmx.boosted:
        return f"{template_name}#{partial}"
    return template_name
