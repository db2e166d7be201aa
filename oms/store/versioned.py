"""Versioned read-model rows: a view is stored only over an older version of itself.

Orders, shipments, quotes and returns are written by their workflows (and by the
callers of their updates) with the version the workflow gave the view, so a late
or retried write never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


class _Versioned(Protocol):
    version: int


RowT = TypeVar("RowT", bound=_Versioned)


def upsert_versioned(
    session: Session,
    model: type[RowT],
    key: str,
    version: int,
    values: dict[str, Any],
    *,
    on_write: Callable[[Any], object] | None = None,
) -> bool:
    """Insert the row ``key`` of ``model`` with ``values``, or update it when ``version``
    is newer than the stored one; ``True`` if it was written.

    ``on_write`` is called, in the same transaction and only when the row was written,
    with the view the row held before (None for a new row): the events outbox compares
    the two (``oms.store.events``).

    Raises ``IntegrityError`` when another unique column clashes (e.g. a tracking
    number): that is a real error, not a race for the key.
    """
    row = _locked(session, model, key)
    if row is None:
        try:
            # A savepoint, so losing a race for the first insert leaves the transaction usable.
            with session.begin_nested():
                session.add(model(**values))
            if on_write is not None:
                on_write(None)
            return True
        except IntegrityError:
            row = _locked(session, model, key)
            if row is None:
                raise
    if version <= row.version:
        return False
    previous = getattr(row, "view", None)
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    if on_write is not None:
        on_write(previous)
    return True


def _locked(session: Session, model: type[RowT], key: str) -> RowT | None:
    return session.get(model, key, with_for_update=True, populate_existing=True)
