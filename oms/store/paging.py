"""Cursor (keyset) pagination for every list the API serves.

A list is a ``select`` ordered by key columns that together are unique (a timestamp and
the id, or the id alone). A page is the first ``limit`` rows after the cursor; its
``next_cursor`` is the opaque form of the last row's keys, or ``None`` on the last page.
Keyset, not offset: a page costs the same deep in a 100 000-row table as at its start, and
rows inserted meanwhile neither repeat nor vanish between pages.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from oms.models.common import Page

T = TypeVar("T")
Row = TypeVar("Row")
Query = TypeVar("Query", bound=Select[Any])

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


class InvalidCursor(ValueError):
    """A ``cursor`` this list did not hand out (the API answers 422 naming ``cursor``)."""


def encode(values: Sequence[Any], columns: Sequence[InstrumentedAttribute[Any]]) -> str:
    """The opaque cursor for a row whose key ``columns`` hold ``values``; it names the list
    it belongs to (its key columns), so another list refuses it."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    cursor = {"list": _list_of(columns), "after": plain}
    text = json.dumps(cursor, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _list_of(columns: Sequence[InstrumentedAttribute[Any]]) -> str:
    """A short name for the lists keyed by ``columns`` (table and column names, hashed:
    the cursor stays opaque and short)."""
    names = ",".join(f"{c.class_.__tablename__}.{c.key}" for c in columns)
    return hashlib.sha256(names.encode()).hexdigest()[:12]


def decode(cursor: str, columns: Sequence[InstrumentedAttribute[Any]]) -> list[Any]:
    """The key values in ``cursor``, typed as ``columns``; raises :class:`InvalidCursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        # A cursor of another list (or one handed out before cursors named their list:
        # the caller starts that list again) would page this one from a wrong place.
        if not isinstance(data, dict) or data.get("list") != _list_of(columns):
            raise ValueError("another list's cursor")
        values = data.get("after")
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError("wrong shape")
        return [
            datetime.fromisoformat(v) if _is_datetime(c) else _scalar(v)
            for v, c in zip(values, columns, strict=True)
        ]
    except (ValueError, TypeError, UnicodeDecodeError) as err:
        raise InvalidCursor("cursor was not handed out by this list") from err


def _is_datetime(column: InstrumentedAttribute[Any]) -> bool:
    try:
        return column.type.python_type is datetime
    except NotImplementedError:
        return False


def _scalar(value: Any) -> Any:
    if not isinstance(value, str | int | float):
        raise ValueError("not a key value")
    return value


def where_given(query: Query, equal: Mapping[InstrumentedAttribute[Any], Any]) -> Query:
    """``query`` narrowed to the rows whose column equals its value in ``equal``, for each
    value given: a ``None`` value is no filter (a list's optional query parameters)."""
    return query.where(*(column == value for column, value in equal.items() if value is not None))


def status_value(kind: type[StrEnum], status: str | None) -> str | None:
    """``status`` as its column stores it, ``None`` for no filter; raises ``ValueError`` for a
    status that is not a ``kind``."""
    return None if status is None else kind(status).value


def page(
    session: Session,
    query: Select[tuple[Row]],
    keys: Sequence[tuple[InstrumentedAttribute[Any], bool]],
    convert: Callable[[Row], T] | None = None,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    convert_rows: Callable[[Sequence[Row]], list[T]] | None = None,
    narrow_by: InstrumentedAttribute[Any] | None = None,
) -> Page[T]:
    """One page of ``query`` ordered by ``keys`` (column, descending?) after ``cursor``.

    Each row becomes an item through ``convert``, or the whole page at once through
    ``convert_rows`` (for items that need other rows: one query per page, not per row).
    With ``narrow_by`` (the table's primary key) the page's keys are found first and its
    rows read after: a filter that matches thousands of rows the index cannot return in
    order then sorts those keys, not the rows with their JSON views.
    Raises :class:`InvalidCursor` for a cursor that does not decode for these keys.
    """
    columns = [column for column, _ in keys]
    if cursor:
        after = decode(cursor, columns)
        query = query.where(_after(keys, after))
    order = [c.desc() if desc else c.asc() for c, desc in keys]
    if narrow_by is not None:
        ids = query.with_only_columns(narrow_by).order_by(*order).limit(limit + 1)
        entity = query.column_descriptions[0]["entity"]
        query = select(entity).where(narrow_by.in_(ids))
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        next_cursor = encode([getattr(rows[-1], c.key) for c in columns], columns)
    if convert_rows is not None:
        items = convert_rows(rows)
    elif convert is not None:
        items = [convert(row) for row in rows]
    else:
        raise TypeError("page() needs convert or convert_rows")
    return Page(items=items, next_cursor=next_cursor)


def _after(keys: Sequence[tuple[InstrumentedAttribute[Any], bool]], values: Sequence[Any]) -> Any:
    """Rows strictly after ``values`` in the order of ``keys`` (a lexicographic keyset)."""
    clauses = []
    for i, (column, desc) in enumerate(keys):
        equal = [c == v for (c, _), v in zip(keys[:i], values[:i], strict=True)]
        beyond = column < values[i] if desc else column > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)
