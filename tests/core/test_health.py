from django.test import Client


def test_healthz_answers_without_touching_anything():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_when_database_and_redis_answer(db):
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "redis": True}


def test_readyz_fails_when_redis_is_unreachable(db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "redis": False}
