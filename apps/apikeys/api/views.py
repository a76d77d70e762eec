"""Dashboard API for a workspace's API keys: `/{tenant}/api/v1/settings/api-keys`.

JWT only (an API key cannot manage API keys), admins and owners of that workspace only.
"""

from __future__ import annotations

from datetime import timedelta

from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.dashboard import DashboardApiView
from apps.apikeys import selectors, services
from apps.apikeys.api.serializers import (
    ApiKeyCreateInputSerializer,
    ApiKeyOutputSerializer,
    ApiKeyRotateInputSerializer,
    ApiKeyUpdateInputSerializer,
)
from apps.apikeys.models import ApiKey
from apps.core.errors import NotFound


def _key_or_404(request: Request, api_key_id: int) -> ApiKey:
    api_key = selectors.api_key_get(tenant=request.tenant, api_key_id=api_key_id)
    if api_key is None:
        raise NotFound("No such API key in this workspace.")
    return api_key


def _out(api_key: ApiKey, **extra) -> dict:
    [api_key] = selectors.api_key_with_fresh_last_used([api_key])
    return {**ApiKeyOutputSerializer(api_key).data, **extra}


class ApiKeyListCreateApi(DashboardApiView):
    def get(self, request: Request) -> Response:
        keys = selectors.api_key_with_fresh_last_used(selectors.api_key_list(tenant=request.tenant))
        return Response({"data": ApiKeyOutputSerializer(keys, many=True).data})

    def post(self, request: Request) -> Response:
        data = ApiKeyCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, secret = services.api_key_create(
            tenant=request.tenant, actor=request.user, **data.validated_data
        )
        # The only time the secret is ever returned.
        return Response(_out(api_key, secret=secret), status=201)


class ApiKeyDetailApi(DashboardApiView):
    def get(self, request: Request, api_key_id: int) -> Response:
        return Response(_out(_key_or_404(request, api_key_id)))

    def patch(self, request: Request, api_key_id: int) -> Response:
        api_key = _key_or_404(request, api_key_id)
        data = ApiKeyUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key = services.api_key_update(
            api_key=api_key, actor=request.user, **data.validated_data
        )
        return Response(_out(api_key))

    def delete(self, request: Request, api_key_id: int) -> Response:
        """Revoke: the key stops working on its next request; the record stays for the log."""
        api_key = services.api_key_revoke(
            api_key=_key_or_404(request, api_key_id), actor=request.user
        )
        return Response(_out(api_key))


class ApiKeyRotateApi(DashboardApiView):
    def post(self, request: Request, api_key_id: int) -> Response:
        api_key = _key_or_404(request, api_key_id)
        data = ApiKeyRotateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, secret = services.api_key_rotate(
            api_key=api_key,
            actor=request.user,
            grace_period=timedelta(hours=data.validated_data["grace_period_hours"]),
        )
        return Response(_out(api_key, secret=secret))
