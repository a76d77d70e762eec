"""Model instances from hand-written SQL: the column list of a model, and an instance built
from a row of it as the ORM would build it. For the few hot reads where compiling the ORM's
query cost more than the database spent answering it (a send's reads, a campaign's detail)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection


def model_table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def model_columns(alias: str, model: Any) -> str:
    """Every concrete column of `model`, qualified by `alias`, in the ORM's order."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def model_from_row(model: Any, values: Sequence[Any]) -> Any:
    """An instance of `model` from a row of `model_columns`, each value converted as the ORM
    would (decrypted, JSON decoded); None when the row was not there (a null primary key, as
    an outer join gives)."""
    fields = model._meta.concrete_fields
    if values[[f.primary_key for f in fields].index(True)] is None:
        return None
    converted = [
        f.from_db_value(value, None, connection) if hasattr(f, "from_db_value") else value
        for f, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], converted)
