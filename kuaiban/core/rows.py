"""Fixed one-row reads for the hottest paths, without the ORM's query compilation.

Building and compiling a queryset costs about 0.5 ms of CPU per query, ten times what PostgreSQL
spends answering a lookup by a unique column (docs/performance.md, "Intake"). Every API request
authenticates its token and every registration looks up its region and category, so these few
fixed statements are written once per model from its ``_meta`` and the rows become ordinary model
instances through ``Model.from_db``: the same objects a queryset would give, with the same
column conversions (the database backend's converters are applied).

``insert`` is ``Model.save(force_insert=True)`` for the rows every state change of an appeal
writes (its event, and the appeal itself on registration): the same values (each field's
``pre_save`` and ``get_db_prep_save``), the same ``pre_save``/``post_save`` signals, one
INSERT statement whose text is built once per model.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import signals

M = TypeVar("M", bound=models.Model)


@functools.cache
def _fields(
    model: type[models.Model],
) -> tuple[tuple[str, ...], tuple[models.Field[Any, Any], ...]]:
    fields = tuple(model._meta.concrete_fields)
    return tuple(f.attname for f in fields), fields


@functools.cache
def _pk_index(model: type[models.Model]) -> int:
    return next(i for i, f in enumerate(_fields(model)[1]) if f.primary_key)


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
    names = _fields(model)[0]
    end = start + len(names)
    values = list(row[start:end])
    if values[_pk_index(model)] is None:
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


@functools.cache
def _insert_sql(model: type[models.Model], with_pk: bool) -> tuple[str, tuple[Any, ...], bool]:
    meta = model._meta
    fields = tuple(f for f in meta.concrete_fields if with_pk or not f.primary_key)
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {table(model)} ({', '.join(qn(_column(f)) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    returning = not with_pk and connection.features.can_return_columns_from_insert
    if returning:
        sql += f" RETURNING {qn(_column(meta.pk))}"
    return sql, fields, returning


def insert(obj: models.Model) -> None:
    """Write ``obj`` as a new row, as ``obj.save(force_insert=True)`` would (see above)."""
    model = type(obj)
    meta = model._meta
    assert not meta.parents, "multi-table inheritance needs Model.save()"
    with_pk = obj.pk is not None
    sql, fields, returning = _insert_sql(model, with_pk)
    if signals.pre_save.has_listeners(model):
        signals.pre_save.send(
            sender=model, instance=obj, raw=False, using=connection.alias, update_fields=None
        )
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        if not with_pk:
            pk = cursor.fetchone()[0] if returning else cursor.lastrowid
            setattr(obj, meta.pk.attname, pk)
    obj._state.adding = False
    obj._state.db = connection.alias
    if signals.post_save.has_listeners(model):
        signals.post_save.send(
            sender=model,
            instance=obj,
            created=True,
            update_fields=None,
            raw=False,
            using=connection.alias,
        )
