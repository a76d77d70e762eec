"""Tests: the same database and Redis rule as everywhere (configured or embedded), with a
Redis database of their own so a running dev server and the suite never share keys."""

import os

from .base import *  # noqa: F403
from .base import DATABASES, REDIS_URL, celery_url


def _with_redis_db(url: str, db: int) -> str:
    if url.startswith("unix://"):
        return f"{url.split('?')[0]}?db={db}"
    head, _, _ = url.rstrip("/").rpartition("/")
    return f"{head}/{db}" if head.count("/") >= 2 else f"{url.rstrip('/')}/{db}"


def _test_redis_db() -> int:
    """TEST_REDIS_DB (15 by default) for the first test process, the databases below it for
    the other pytest-xdist workers: processes that share keys (cached counts, rate limits,
    the broker) would see each other's tenants, which all carry the same slugs in tests."""
    base = int(os.environ.get("TEST_REDIS_DB", "15"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return max(1, base - int(worker or 0))


REDIS_URL = _with_redis_db(REDIS_URL, _test_redis_db())
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "lynkist-test",
    }
}
CELERY_BROKER_URL = celery_url(REDIS_URL)
# Imports write with one connection: a test's data is in its transaction, which another
# connection cannot see (tests/contacts/test_import_writers.py commits to test two).
CONTACTS_IMPORT_WRITERS = 1
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Webhook tests deliver to real HTTP servers on loopback.
WEBHOOKS_ALLOW_LOOPBACK = True
WEBHOOKS_REQUIRE_HTTPS = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Several checkouts or sessions may test against one server at once: each can pick its own
# test database and Redis database so their runs never collide.
if os.environ.get("TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DB_NAME"]}
