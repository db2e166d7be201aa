"""Helpers the migrations share: one spelling of each column type the schema keeps using,
of the read-model columns, and of dropping a table with its indexes.

A column is NOT NULL unless the call says ``nullable=True``; other keywords go to
``sa.Column`` as they are. Each helper builds exactly the column or statement the
migrations spelled out before it existed, so the DDL a migration runs never changes
(``tests/store/test_migrations.py`` compares the result with ``oms.store.tables``).
Past migrations run through these helpers: never change what one builds, add another.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op


def _column(name: str, type_: Any, kw: dict[str, Any]) -> sa.Column[Any]:
    kw.setdefault("nullable", False)
    return sa.Column(name, type_, **kw)


def string(name: str, length: int, **kw: Any) -> sa.Column[Any]:
    return _column(name, sa.String(length=length), kw)


def integer(name: str, **kw: Any) -> sa.Column[Any]:
    return _column(name, sa.Integer(), kw)


def bigint(name: str, **kw: Any) -> sa.Column[Any]:
    """A 64-bit integer on PostgreSQL; an INTEGER on SQLite, which autoincrements only an
    INTEGER PRIMARY KEY."""
    return _column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), kw)


def money(name: str, **kw: Any) -> sa.Column[Any]:
    """An amount: 14 digits, 2 after the point."""
    return _column(name, sa.Numeric(precision=14, scale=2), kw)


def timestamp(name: str, **kw: Any) -> sa.Column[Any]:
    """A moment with its time zone."""
    return _column(name, sa.DateTime(timezone=True), kw)


def read_model() -> list[sa.Column[Any]]:
    """The columns every read-model table ends with: when the view last changed, its
    version (an older one never overwrites a newer one) and the view as JSON."""
    return [timestamp("updated_at"), integer("version"), _column("view", sa.JSON(), {})]


def drop_table(table: str, *indexes: str) -> None:
    """Drop ``indexes`` of ``table``, in their order, then the table."""
    for name in indexes:
        op.drop_index(name, table_name=table)
    op.drop_table(table)
