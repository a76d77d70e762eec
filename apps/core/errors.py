"""The one exception type services raise. Pages turn it into a form error or a toast, the
public API into its error envelope; its `code` is stable and documented."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.field = field
        self.details = details


class NotFound(ApplicationError):
    status = 404
    code = "not_found"


class Conflict(ApplicationError):
    status = 409
    code = "conflict"


class PermissionDenied(ApplicationError):
    status = 403
    code = "permission_denied"


class ValidationFailed(ApplicationError):
    status = 422
    code = "validation_error"
