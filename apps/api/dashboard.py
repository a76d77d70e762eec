"""The dashboard API's shared parts: JWT token endpoints and the base view for
`/{tenant}/api/v1/...`.

Dashboard clients log in with e-mail and password at `/api/v1/auth/token` and send the access
token as `Authorization: Bearer <jwt>`; the browser dashboard's own session also works (with
DRF's CSRF check on writes). An API key is not a JWT, so it is refused (401) here.
TenantPathMiddleware resolves the workspace from the URL but leaves the membership check to
`IsWorkspaceMember`: a non-member gets 404 (as on the pages), a member below the view's
`minimum_role` gets 403. Errors use the public API's envelope.
"""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from apps.api.errors import public_api_exception_handler
from apps.core.errors import NotFound, PermissionDenied
from apps.tenancy.models import Role
from apps.tenancy.selectors import membership_for


class IsWorkspaceMember(BasePermission):
    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False  # DRF answers 401 authentication_required
        tenant = getattr(request, "tenant", None)
        membership = membership_for(user=request.user, tenant=tenant) if tenant else None
        if membership is None:
            raise NotFound("No such workspace.")
        request.membership = membership
        minimum = getattr(view, "minimum_role", Role.ADMIN)
        if not membership.has_role(minimum):
            raise PermissionDenied(
                f"This needs the {Role(minimum).label.lower()} role or higher in this workspace."
            )
        return True


class DashboardApiView(APIView):
    authentication_classes = [JWTAuthentication, SessionAuthentication]
    permission_classes = [IsWorkspaceMember]
    renderer_classes = [JSONRenderer]
    minimum_role = Role.ADMIN
    # Not part of the public OpenAPI document.
    schema = None

    def get_exception_handler(self):
        return public_api_exception_handler

    def dispatch(self, request, *args, **kwargs):
        # The workspace slug in the URL is the middleware's; views use request.tenant.
        kwargs.pop("tenant", None)
        return super().dispatch(request, *args, **kwargs)


class TokenObtainView(TokenObtainPairView):
    """POST {"email", "password"} → {"access", "refresh"}."""

    renderer_classes = [JSONRenderer]
    schema = None

    def get_exception_handler(self):
        return public_api_exception_handler


class TokenRenewView(TokenRefreshView):
    """POST {"refresh"} → {"access"}."""

    renderer_classes = [JSONRenderer]
    schema = None

    def get_exception_handler(self):
        return public_api_exception_handler
