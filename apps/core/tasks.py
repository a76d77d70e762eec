"""How Celery tasks run inside a tenant's schema.

Every task that touches tenant data takes the schema name as its first argument, explicitly:
the worker has no request to infer it from, and an implicit default would silently write into
the public schema.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django_tenants.utils import schema_context


def tenant_task(**celery_options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a Celery task whose body runs in the schema passed as `schema_name`."""

    def decorator(func: Callable[..., Any]) -> Any:
        @functools.wraps(func)
        def run_in_schema(schema_name: str, *args: Any, **kwargs: Any) -> Any:
            with schema_context(schema_name):
                return func(*args, **kwargs)

        celery_options.setdefault("name", f"{func.__module__}.{func.__name__}")
        return shared_task(**celery_options)(run_in_schema)

    return decorator
