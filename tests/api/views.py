"""Public API views that exist only in tests, to exercise the shared machinery (scopes,
validation, pagination, idempotency, crashes) through real requests. Routed by
tests/api/urls.py under /api/v1/public/_test/."""

from __future__ import annotations

import threading
from collections import Counter

from rest_framework import serializers
from rest_framework.response import Response

from apps.api.pagination import paginated_response
from apps.api.views import PublicApiView
from apps.apikeys.models import ApiKey
from apps.core.errors import Conflict

PREFIX = "/api/v1/public/_test"
# How many times each test view's handler ran (idempotency tests count executions).
calls: Counter[str] = Counter()
# The slow view waits for this, so a test can send a retry while the first call runs.
slow_started = threading.Event()
slow_release = threading.Event()


def scoped_api_call(client, method: str):
    return getattr(client, method)(f"{PREFIX}/scoped", {}, format="json")


class ScopedApi(PublicApiView):
    required_scopes = {"GET": ["contacts:read"], "POST": ["contacts:write"]}

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True}, status=201)


class EchoApi(PublicApiView):
    required_scopes = {"POST": [], "DELETE": []}

    class InputSerializer(serializers.Serializer):
        class ItemSerializer(serializers.Serializer):
            phone = serializers.RegexField(r"^\+\d{6,15}$")

        name = serializers.CharField(max_length=10)
        items = ItemSerializer(many=True, required=False)

    def post(self, request):
        calls["echo"] += 1
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            {"echo": data.validated_data["name"], "call": calls["echo"]},
            status=201,
            headers={"Location": f"{PREFIX}/echo/{calls['echo']}"},
        )

    def delete(self, request):
        calls["echo-delete"] += 1
        raise Conflict("Already gone.", details={"call": calls["echo-delete"]})


class BoomApi(PublicApiView):
    required_scopes = {"GET": [], "POST": []}

    def get(self, request):
        raise RuntimeError("secret internal detail")

    def post(self, request):
        calls["boom"] += 1
        if calls["boom"] == 1:
            raise RuntimeError("first attempt fails")
        return Response({"call": calls["boom"]}, status=201)


class SlowApi(PublicApiView):
    required_scopes = {"POST": []}

    def post(self, request):
        calls["slow"] += 1
        slow_started.set()
        slow_release.wait(timeout=10)
        return Response({"call": calls["slow"]}, status=201)


class KeyListApi(PublicApiView):
    required_scopes = {"GET": []}

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = ApiKey
            fields = ["id", "name"]

    def get(self, request):
        queryset = ApiKey.objects.filter(tenant=request.tenant).order_by("id")
        return paginated_response(
            request=request, queryset=queryset, serializer_class=self.OutputSerializer
        )
