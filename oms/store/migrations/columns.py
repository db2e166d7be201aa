"""Helpers the migrations share: one spelling of each column type the schema keeps using,
of the read-model columns, and of dropping a table with its indexes.

A column is NOT NULL unless the call says ``nullable=True``; other arguments (a
``sa.ForeignKey``, ``primary_key=True``, ...) go to ``sa.Column`` as they are. Each
helper builds exactly the column or statement the migrations spelled out before it
existed, so the DDL a migration runs never changes (``tests/store/test_migrations.py``
compares the result with ``oms.store.tables``).
Past migrations run through these helpers: never change what one builds, add another.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op


def _column(name: str, type_: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> sa.Column[Any]:
    kw.setdefault("nullable", False)
    return sa.Column(name, type_, *args, **kw)


def string(name: str, length: int, *args: Any, **kw: Any) -> sa.Column[Any]:
    return _column(name, sa.String(length=length), args, kw)


def integer(name: str, *args: Any, **kw: Any) -> sa.Column[Any]:
    return _column(name, sa.Integer(), args, kw)


def bigint(name: str, *args: Any, **kw: Any) -> sa.Column[Any]:
    """A 64-bit integer on PostgreSQL; an INTEGER on SQLite, which autoincrements only an
    INTEGER PRIMARY KEY."""
    return _column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), args, kw)


def money(name: str, *args: Any, **kw: Any) -> sa.Column[Any]:
    """An amount: 14 digits, 2 after the point."""
    return _column(name, sa.Numeric(precision=14, scale=2), args, kw)


def timestamp(name: str, *args: Any, **kw: Any) -> sa.Column[Any]:
    """A moment with its time zone."""
    return _column(name, sa.DateTime(timezone=True), args, kw)


def read_model() -> list[sa.Column[Any]]:
    """The columns every read-model table ends with: when the view last changed, its
    version (an older one never overwrites a newer one) and the view as JSON."""
    return [timestamp("updated_at"), integer("version"), _column("view", sa.JSON(), (), {})]


def drop_table(table: str, *indexes: str) -> None:
    """Drop ``indexes`` of ``table``, in their order, then the table."""
    for name in indexes:
        op.drop_index(name, table_name=table)
    op.drop_table(table)
