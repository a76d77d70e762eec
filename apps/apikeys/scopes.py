"""The scopes an API key can carry, grouped by the resource they open.

Each public API view declares the scope(s) it needs per HTTP method; a key holding none of the
declared scopes gets 403 `insufficient_scope`.
"""

from __future__ import annotations

# resource -> scopes, in the order the dashboard shows them.
SCOPE_GROUPS: dict[str, tuple[str, ...]] = {
    "contacts": ("contacts:read", "contacts:write"),
    "templates": ("templates:read", "templates:write"),
    "media": ("media:read", "media:write"),
    "messages": ("messages:read", "messages:send"),
    "campaigns": ("campaigns:read", "campaigns:write", "campaigns:send"),
    "webhooks": ("webhooks:read", "webhooks:write"),
}

ALL_SCOPES: tuple[str, ...] = tuple(scope for group in SCOPE_GROUPS.values() for scope in group)
READ_SCOPES: tuple[str, ...] = tuple(scope for scope in ALL_SCOPES if scope.endswith(":read"))

# The presets offered when creating a key.
SCOPE_PRESETS: dict[str, tuple[str, ...]] = {
    "read_only": READ_SCOPES,
    "full_access": ALL_SCOPES,
}
