from django.http import JsonResponse
from django.urls import path

from lynkist.urls import urlpatterns as site_patterns


def plain(request):
    """A body the size of GET /me's, with none of the API layer."""
    return JsonResponse(
        {
            "tenant": {"slug": "bench-api", "name": "bench-api", "plan": "enterprise"},
            "api_key": {"id": 1, "name": "bench", "prefix": "lk_sk_live_00000000",
                        "mode": "live", "scopes": ["contacts:read"], "expires_at": None},
            "rate_limits": {"requests_per_minute": 1, "requests_per_day": 1},
        }
    )  # fmt: skip


# Under the public API's prefix, so that it passes through the same middleware as /me.
urlpatterns = [path("api/v1/public/bench-plain", plain), *site_patterns]
