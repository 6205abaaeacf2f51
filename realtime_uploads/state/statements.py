"""The push path's hot statements, written once instead of compiled by the ORM on every callback.

**A state change in one statement**: ``UPDATE … WHERE <the change is legal
now> RETURNING *``. The services' general path locks the row (``SELECT …
FOR UPDATE``), decides, then writes: four round trips with ``BEGIN`` and
``COMMIT``, and two ORM queries to compile, which was a third of a
callback's cost. Almost every callback is a legal next step, so
:func:`apply_if_legal` first tries that as one conditional ``UPDATE`` whose
``WHERE`` is the transition table and the object-version pin: the database
applies it atomically or not at all. When no row matches (unknown id, an
idempotent repeat, an illegal step, another object version) it returns None
and the caller takes the general path, which decides under the lock what the
answer is. So the outcome is the same either way; only the cost differs.
Like ``QuerySet.update()``, this sends no ``pre_save`` / ``post_save``
signals, and neither does the general path (it writes with ``update()``
too): receivers see the same thing whichever path ran. The app's own
signals, :mod:`realtime_uploads.signals`, are sent either way.
PostgreSQL and SQLite 3.35+ support ``UPDATE … RETURNING``; other databases
(and older SQLite) always take the general path.

**A completed callback's variants in one statement**: :func:`insert_variants`,
a multi-row ``INSERT`` (``bulk_create``'s compilation was a tenth of a
callback at 300/s), in the caller's transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connections, router
from django.utils import timezone

from realtime_uploads.models import TRANSITIONS, Upload, Variant

VENDORS = frozenset({"postgresql", "sqlite"})
#: ``UPDATE … RETURNING`` came in SQLite 3.35 (https://www.sqlite.org/lang_returning.html).
SQLITE_RETURNING = (3, 35, 0)


def _returns_rows(connection) -> bool:
    if connection.vendor == "sqlite":
        return connection.Database.sqlite_version_info >= SQLITE_RETURNING
    return connection.vendor in VENDORS


def _converters(connection, fields) -> list[list]:
    """Per field, the converters the ORM would apply to a value read from the database."""
    table = Upload._meta.db_table
    return [
        connection.ops.get_db_converters(field.get_col(table)) + field.get_db_converters(connection)
        for field in fields
    ]


def _instance(connection, fields, row) -> Upload:
    """An Upload from a raw row of ``fields``, converted as the ORM converts (others deferred)."""
    table = Upload._meta.db_table
    converted = []
    for field, value, converters in zip(fields, row, _converters(connection, fields), strict=True):
        for convert in converters:
            value = convert(value, field.get_col(table), connection)
        converted.append(value)
    return Upload.from_db(connection.alias, [f.attname for f in fields], converted)


def apply_if_legal(upload_id: uuid.UUID, to: str, *, object_etag: str, changes: dict[str, Any]) -> Upload | None:
    """Move the upload to ``to`` if that is legal now; the changed upload, or None if nothing matched.

    ``changes`` are extra model fields to set (``error_code``, ``original_width``, …).
    ``seq`` grows by one, ``updated_at`` is now, and an ``object_etag`` given
    pins the version when none is pinned yet (and must equal a pinned one).
    Run it inside the caller's transaction when more is written with it.
    """
    connection = connections[router.db_for_write(Upload)]
    if not _returns_rows(connection):
        return None
    meta, qn = Upload._meta, connection.ops.quote_name
    allowed_from = sorted(status for status, nexts in TRANSITIONS.items() if to in nexts)
    if not allowed_from:
        return None
    values = {"status": to, "updated_at": timezone.now(), **changes}
    assignments, params = [], []
    for name, value in values.items():
        field = meta.get_field(name)
        assignments.append(f"{qn(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    assignments.append(f"{qn('seq')} = {qn('seq')} + 1")
    where = [f"{qn(meta.pk.column)} = %s", f"{qn('status')} IN ({', '.join(['%s'] * len(allowed_from))})"]
    where_params: list[Any] = [meta.pk.get_db_prep_value(upload_id, connection), *allowed_from]
    if object_etag:
        assignments.append(f"{qn('object_etag')} = %s")
        params.append(object_etag)
        where.append(f"({qn('object_etag')} = '' OR {qn('object_etag')} = %s)")
        where_params.append(object_etag)
    fields = meta.concrete_fields
    # Identifiers come from the model and are quoted; every value is a bound parameter.
    returning = ", ".join(qn(f.column) for f in fields)
    sql = f"UPDATE {qn(meta.db_table)} SET {', '.join(assignments)} WHERE {' AND '.join(where)} RETURNING {returning}"  # noqa: S608, E501
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *where_params])
        row = cursor.fetchone()
    if row is None:
        return None
    return _instance(connection, fields, row)



_VARIANT_FIELDS = ("upload", "name", "key", "width", "height", "format", "size", "animated", "formats")


def insert_variants(upload: Upload, variants: list[dict[str, Any]]) -> list[Variant]:
    """Store ``variants`` (``{name, key, width, height, format, size, animated?, formats?}``) of ``upload``;
    the rows, unsaved-looking.

    The returned Variant instances carry every field but their primary key
    (the event does not use it). Raises IntegrityError for a duplicate name.
    """
    rows = [Variant(upload=upload, **v) for v in variants]
    if not rows:
        return rows
    connection = connections[router.db_for_write(Variant)]
    meta, qn = Variant._meta, connection.ops.quote_name
    fields = [meta.get_field(name) for name in _VARIANT_FIELDS]
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [field.get_db_prep_save(getattr(row, field.attname), connection) for row in rows for field in fields]
    columns = ", ".join(qn(field.column) for field in fields)
    values = ", ".join([placeholders] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES {values}", params)  # noqa: S608
    return rows
