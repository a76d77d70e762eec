from django.urls import include, path

from lynkist.urls import urlpatterns as site_patterns
from tests.api import views

test_patterns = [
    path("scoped", views.ScopedApi.as_view()),
    path("echo", views.EchoApi.as_view()),
    path("boom", views.BoomApi.as_view()),
    path("slow", views.SlowApi.as_view()),
    path("keys", views.KeyListApi.as_view()),
]

urlpatterns = [path("api/v1/public/_test/", include(test_patterns)), *site_patterns]
