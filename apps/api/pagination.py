"""Offset pagination with the Reference's envelope:

    {"data": [...], "pagination": {"page", "limit", "total_items", "total_pages",
                                   "has_next", "has_prev"}}

`limit` is 1..100 (default 20; above 100 is clamped to 100), `page` starts at 1; a page past
the end is empty, not an error.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def _positive_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValidationFailed(f"`{name}` must be a whole number of at least 1.", field=name)
    return value


def page_params(request: Request) -> tuple[int, int]:
    page = _positive_int(request, "page", 1)
    limit = min(_positive_int(request, "limit", DEFAULT_LIMIT), MAX_LIMIT)
    return page, limit


def pagination_envelope(*, page: int, limit: int, total_items: int) -> dict[str, Any]:
    total_pages = math.ceil(total_items / limit)
    return {
        "page": page,
        "limit": limit,
        "total_items": total_items,
        "total_pages": total_pages,
        "has_next": page < total_pages,
        "has_prev": page > 1,
    }


def paginated_response(
    *,
    request: Request,
    queryset: QuerySet,
    serializer_class: type,
    context: dict[str, Any] | None = None,
) -> Response:
    """One page of `queryset` serialized with `serializer_class`, in the envelope. The
    queryset should be ordered. The first page is read before counting: when it is not full
    it is the whole list, so its length is the total and the count query (as costly as the
    page itself for a search) is skipped."""
    page, limit = page_params(request)
    offset = (page - 1) * limit
    if offset == 0:
        items = list(queryset[:limit])
        total_items = len(items) if len(items) < limit else queryset.count()
    else:
        # Counted first: a page past the end (any page number is accepted) reads nothing.
        total_items = queryset.count()
        items = list(queryset[offset : offset + limit]) if offset < total_items else []
    serializer = serializer_class(items, many=True, context={"request": request, **(context or {})})
    return Response(
        {
            "data": serializer.data,
            "pagination": pagination_envelope(page=page, limit=limit, total_items=total_items),
        }
    )
