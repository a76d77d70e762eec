"""The Celery app. Worker: `celery -A lynkist worker`; beat: `celery -A lynkist beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lynkist.settings.local")

app = Celery("lynkist")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
