"""The site as `gunicorn lynkist.wsgi` serves it, plus one plain Django view for
bench/api_overhead.py to compare against (same server, same middleware, no API layer)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lynkist.settings.local")

import django  # noqa: E402
from django.conf import settings  # noqa: E402

django.setup()
settings.ROOT_URLCONF = "bench.api_overhead_urls"

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
