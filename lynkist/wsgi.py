import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lynkist.settings.local")

django_application = get_wsgi_application()

# Imported after Django is set up: the receiver uses models and settings.
from apps.messaging.receiver import receiver_fast_path  # noqa: E402

application = receiver_fast_path(django_application)
