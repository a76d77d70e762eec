from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission

from apps.api.errors import ErrorCode
from apps.core.errors import ApplicationError


def required_scopes_for(view, method: str) -> list[str] | None:
    """The scopes a view declares for a method (HEAD counts as GET); None if undeclared."""
    declared = getattr(view, "required_scopes", None) or {}
    method = "GET" if method == "HEAD" else method.upper()
    scopes = declared.get(method)
    return list(scopes) if scopes is not None else None


class HasRequiredScopes(BasePermission):
    """Every public API view declares `required_scopes = {"GET": [...], "POST": [...]}`. The
    key must hold all scopes listed for the method; `[]` means any valid key. A method with a
    handler but no declaration is a programming error and fails closed."""

    def has_permission(self, request, view) -> bool:
        method = request.method.lower()
        if method not in view.http_method_names or not hasattr(view, method):
            return True  # DRF answers 405 next.
        required = required_scopes_for(view, request.method)
        if required is None:
            raise ImproperlyConfigured(
                f"{type(view).__name__} declares no required_scopes for {request.method}."
            )
        granted = list(request.auth.scopes)
        missing = [scope for scope in required if scope not in granted]
        if missing:
            names = ", ".join(missing)
            noun = "scope" if len(missing) == 1 else "scopes"
            raise ApplicationError(
                f"This API key lacks the {names} {noun}.",
                code=ErrorCode.INSUFFICIENT_SCOPE,
                status=403,
                details={"required_scopes": required, "granted_scopes": granted},
            )
        return True
