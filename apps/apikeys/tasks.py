from __future__ import annotations

from celery import shared_task

from apps.apikeys.services import api_key_flush_last_used


@shared_task(name="apps.apikeys.tasks.flush_api_key_last_used")
def flush_api_key_last_used() -> int:
    """Beat task: copy the last-use times gathered in Redis to the api keys' rows."""
    return api_key_flush_last_used()
