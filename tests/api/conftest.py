import pytest
from django.test import Client


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    """The public OpenAPI document as the site serves it."""
    with django_db_blocker.unblock():
        response = Client().get("/api/v1/public/openapi.json")
    assert response.status_code == 200
    return response.json()
