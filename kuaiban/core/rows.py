"""Fixed one-row reads for the hottest paths, without the ORM's query compilation.

Building and compiling a queryset costs about 0.5 ms of CPU per query, ten times what PostgreSQL
spends answering a lookup by a unique column (docs/performance.md, "Intake"). Every API request
authenticates its token and every registration looks up its region and category, so these few
fixed statements are written once per model from its ``_meta`` and the rows become ordinary model
instances through ``Model.from_db``: the same objects a queryset would give, with the same
column conversions (the database backend's converters are applied).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


@functools.cache
def _fields(
    model: type[models.Model],
) -> tuple[tuple[str, ...], tuple[models.Field[Any, Any], ...]]:
    fields = tuple(model._meta.concrete_fields)
    return tuple(f.attname for f in fields), fields


@functools.cache
def _converters(model: type[models.Model]) -> tuple[tuple[int, list[Any], Any], ...]:
    """Per column: the backend's and the field's converters, as a queryset's compiler applies
    them (SQLite hands datetimes back as text, for instance)."""
    out = []
    for i, field in enumerate(_fields(model)[1]):
        col = field.cached_col
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            out.append((i, found, col))
    return tuple(out)


def columns(model: type[models.Model], alias: str) -> str:
    """``alias."col", ...`` for every concrete field of ``model``, in ``_meta`` order."""
    qn = connection.ops.quote_name
    return ", ".join(f"{alias}.{qn(_column(f))}" for f in _fields(model)[1])


def _column(field: models.Field[Any, Any]) -> str:
    column = field.column
    assert column is not None  # concrete fields have one
    return column


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def build(model: type[M], row: Sequence[Any], start: int = 0) -> tuple[M | None, int]:
    """The instance of ``model`` whose columns begin at ``row[start]`` (None when its primary
    key is NULL, as on the empty side of a LEFT JOIN) and the index after its columns."""
    names, fields = _fields(model)
    end = start + len(names)
    values = list(row[start:end])
    if values[[f.primary_key for f in fields].index(True)] is None:
        return None, end
    for i, found, col in _converters(model):
        for convert in found:
            values[i] = convert(values[i], col, connection)
    return model.from_db(connection.alias, names, values), end


def fetch(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@functools.cache
def _by_sql(model: type[models.Model], field: str) -> str:
    found = model._meta.get_field(field)
    assert isinstance(found, models.Field)
    column = _column(found)
    qn = connection.ops.quote_name
    return f"SELECT {columns(model, 't')} FROM {table(model)} t WHERE t.{qn(column)} = %s"


def by(model: type[M], field: str, value: Any) -> M | None:
    """The row of ``model`` whose unique ``field`` equals ``value``, or None."""
    row = fetch(_by_sql(model, field), [value])
    return None if row is None else build(model, row)[0]
