"""Production: every secret must come from the environment; cookies and HSTS are strict."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DEBUG, SECRET_KEY, env_bool

if SECRET_KEY.startswith("dev-insecure") and not DEBUG:
    raise ImproperlyConfigured("Set SECRET_KEY in the environment for production.")

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
