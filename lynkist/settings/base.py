"""Settings shared by every environment. Everything configurable is read from the environment
here, in one place; local/test/production only change defaults."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import dj_database_url

from lynkist import embedded

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# ------------------------------------------------------------------------------------------
# Core
# ------------------------------------------------------------------------------------------
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-insecure-secret-key-change-me-in-production")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
ROOT_URLCONF = "lynkist.urls"
WSGI_APPLICATION = "lynkist.wsgi.application"
ASGI_APPLICATION = "lynkist.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ------------------------------------------------------------------------------------------
# Applications: shared apps live in the public schema, tenant apps in one schema per tenant
# ------------------------------------------------------------------------------------------
SHARED_APPS = [
    # tenancy first: its migrate/migrate_schemas commands extend django-tenants' own.
    "apps.tenancy",
    "django_tenants",
    "apps.core",
    "apps.accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "axes",
    "apps.dashboard",
    # API keys live in the public schema: a key's hash must find its tenant before any schema.
    "apps.apikeys",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # The phone-number-id → tenant map Meta's webhooks are routed by (public schema).
    "apps.whatsapp.routing",
    # Meta's webhook callbacks, stored raw before the tenant is known (public schema).
    "apps.messaging.callbacks",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "apps.audit",
    "apps.webhooks",
    "apps.whatsapp",
    "apps.message_templates",
    "apps.media",
    "apps.contacts",
    "apps.messaging",
    "apps.campaigns",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenancy.Tenant"
TENANT_DOMAIN_MODEL = "tenancy.Domain"
# New tenants are cloned from this schema, which migrate_schemas keeps current, instead of
# running every migration again (see apps/tenancy/schemas.py and bench/tenant_creation.py).
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Send `SET search_path` once per tenant switch instead of before every cursor (a template
# send opened ~14 cursors). django-tenants forgets the path on rollback and savepoint
# rollback, which undo a SET in PostgreSQL, so it is set again when that happens.
TENANT_LIMIT_SET_CALLS = True
PUBLIC_SCHEMA_NAME = "public"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

MIDDLEWARE = [
    "apps.core.middleware.RequestIdMiddleware",
    "apps.core.middleware.ContentSecurityPolicyMiddleware",
    # Outside the error envelope, so that its headers reach the final response.
    "apps.api.middleware.RateLimitPrefetchMiddleware",
    # Inside the request id: public API errors that never reach a view still get the envelope.
    "apps.api.middleware.PublicApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The browser's middleware (sessions, CSRF, login, messages, htmx) is skipped on
    # the public API, whose requests carry an API key and none of that state: see
    # apps.api.middleware.dashboard_only.
    "apps.api.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.api.middleware.CsrfViewMiddleware",
    "apps.api.middleware.AuthenticationMiddleware",
    "apps.api.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.api.middleware.HtmxMiddleware",
    "apps.tenancy.middleware.TenantPathMiddleware",
    # axes last, as its documentation asks: it reads the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.tenancy.context_processors.workspace",
            ],
            "builtins": [
                "apps.core.templatetags.lynkist",
                "template_partials.templatetags.partials",
            ],
        },
    }
]

# ------------------------------------------------------------------------------------------
# Database and Redis: real servers when configured, embedded ones otherwise
# ------------------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or embedded.postgres_url()
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
# django-tenants' backend, with a health check that needs no round trip (see its docstring).
DATABASES["default"]["ENGINE"] = "apps.core.postgresql"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = os.environ.get("REDIS_URL") or embedded.redis_url()


def celery_url(redis_url: str) -> str:
    """Kombu spells a Unix-socket Redis `redis+socket://` and its database `virtual_host`."""
    parsed = urlparse(redis_url)
    if parsed.scheme != "unix":
        return redis_url
    db = parse_qs(parsed.query).get("db", ["0"])[0]
    return f"redis+socket://{parsed.path}?virtual_host={db}"


CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "lynkist",
    }
}

# ------------------------------------------------------------------------------------------
# Authentication
# ------------------------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "workspace-picker"
LOGOUT_REDIRECT_URL = "accounts:login"

# Failed-login throttling: 5 failures for one address from one IP lock that pair for 15 min.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO", False) else None
)

# ------------------------------------------------------------------------------------------
# Static files and e-mail
# ------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# In development the files are served straight from the app folders, no collectstatic needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / ".data" / "media"))
MEDIA_URL = "/media/"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Lynkist <no-reply@lynkist.local>")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# ------------------------------------------------------------------------------------------
# Integrations (used by later apps; read here so every setting lives in one place)
# ------------------------------------------------------------------------------------------
GRAPH_API_BASE_URL = os.environ.get("GRAPH_API_BASE_URL", "https://graph.facebook.com/v21.0")
META_APP_SECRET = os.environ.get("META_APP_SECRET", "dev-meta-app-secret")
META_VERIFY_TOKEN = os.environ.get("META_VERIFY_TOKEN", "dev-meta-verify-token")
FIELD_ENCRYPTION_KEY = os.environ.get(
    "FIELD_ENCRYPTION_KEY", "ZGV2LWZpZWxkLWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM="
)

# ------------------------------------------------------------------------------------------
# Celery
# ------------------------------------------------------------------------------------------
CELERY_BROKER_URL = celery_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(embedded.DATA_DIR / "celerybeat-schedule")
# Periodic tasks; later apps add theirs here (one table for every schedule).
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
# Outgoing webhooks: fan events out and send due deliveries in every workspace (a cheap scan;
# the sending runs in one task per workspace), and drop the event log after 30 days.
CELERY_BEAT_SCHEDULE["webhooks-dispatch"] = {
    "task": "apps.webhooks.tasks.webhooks_dispatch_all",
    "schedule": 2.0,
}
CELERY_BEAT_SCHEDULE["webhooks-prune"] = {
    "task": "apps.webhooks.tasks.webhooks_prune_all",
    "schedule": 3600.0,
}

# ------------------------------------------------------------------------------------------
# Outgoing webhooks
# ------------------------------------------------------------------------------------------
# Loopback receivers are refused unless this is on (development and tests only).
WEBHOOKS_ALLOW_LOOPBACK = env_bool("WEBHOOKS_ALLOW_LOOPBACK", False)
WEBHOOKS_REQUIRE_HTTPS = env_bool("WEBHOOKS_REQUIRE_HTTPS", not DEBUG)
# A delivery succeeds with a 2xx within this many seconds.
WEBHOOKS_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOKS_TIMEOUT_SECONDS", "15"))

# ------------------------------------------------------------------------------------------
# Contacts
# ------------------------------------------------------------------------------------------
# Database connections a CSV import writes its batches with, side by side (see
# apps.contacts.services.imports.WRITERS).
CONTACTS_IMPORT_WRITERS = max(1, int(os.environ.get("CONTACTS_IMPORT_WRITERS", "2")))

# ------------------------------------------------------------------------------------------
# REST framework (the public API's settings live in apps/api)
# ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# ------------------------------------------------------------------------------------------
# Public API (apps/api, apps/apikeys)
# ------------------------------------------------------------------------------------------
# Proxies (CIDRs) whose X-Forwarded-For we believe when deciding a client's IP for API-key
# allowlists. Empty: REMOTE_ADDR is the client.
API_TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")
# Copy the API keys' last-use times from Redis to the database this often.
# Meta's webhook callbacks: a sweep for anything a crash or a lost nudge left waiting.
CELERY_BEAT_SCHEDULE["messaging-callbacks-sweep"] = {
    "task": "apps.messaging.tasks.meta_callbacks_sweep_task",
    "schedule": 15.0,
}
CELERY_BEAT_SCHEDULE["messaging-unmatched-statuses"] = {
    "task": "apps.messaging.tasks.unmatched_statuses_retry_all",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["messaging-callbacks-prune"] = {
    "task": "apps.messaging.tasks.meta_callbacks_prune_task",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["apikeys-flush-last-used"] = {
    "task": "apps.apikeys.tasks.flush_api_key_last_used",
    "schedule": 60.0,
}
# Campaigns: start due SCHEDULED campaigns in every workspace, revive quiet dispatchers.
CELERY_BEAT_SCHEDULE["campaigns-tick"] = {
    "task": "apps.campaigns.tasks.campaigns_tick",
    "schedule": 5.0,
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lynkist Public API",
    # Enums whose field names collide across resources get explicit component names.
    "ENUM_NAME_OVERRIDES": {
        "MessageStatusEnum": [
            "pending",
            "accepted",
            "held_for_quality_assessment",
            "sent",
            "delivered",
            "read",
            "failed",
            "received",
        ],
        "MessageDirectionEnum": ["outbound", "inbound"],
    },
    "DESCRIPTION": (
        "REST endpoints for contacts, templates, messages, media, campaigns and webhooks. "
        "Authenticate with `Authorization: Bearer lk_sk_live_...` (or `lk_sk_test_...`)."
    ),
    "VERSION": "1.0.0",
    "SERVERS": [{"url": "/api/v1/public", "description": "This server"}],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.api.schema.postprocess_schema",
        "apps.webhooks.api.webhook_docs.add_webhooks",
    ],
    # 3.1 for the `webhooks` section (the payload of every event type).
    "OAS_VERSION": "3.1.0",
    # The bearer scheme comes from apps/api/schema.py (ApiKeyAuthenticationScheme).
}

# ------------------------------------------------------------------------------------------
# Logging: one JSON object per line, carrying the request id
# ------------------------------------------------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "apps.core.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
