"""Versioned read-model rows: a view is stored only over an older version of itself.

Orders, shipments, quotes, returns and subscriptions are written by their workflows
(and by the callers of their updates) with the version the workflow gave the view, so a
late or retried write never overwrites a newer one. ``record_view`` and ``stored_view``
are the one way each read-model store writes and reads its views.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from oms.store.db import get_or_insert
from oms.store.events import record_transitions
from oms.store.tables import ReadModel


class _Versioned(Protocol):
    version: int


RowT = TypeVar("RowT", bound=_Versioned)
ViewT = TypeVar("ViewT", bound=BaseModel)


class StoredView(Protocol):
    """A workflow's view as its read model stores it (``OrderView``, ``QuoteView``, ...)."""

    @property
    def version(self) -> int: ...

    @property
    def updated_at(self) -> datetime: ...

    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


def view_columns(view: StoredView) -> dict[str, Any]:
    """The ``ReadModel`` columns of the row for ``view``: its time, version and JSON."""
    return {
        "updated_at": view.updated_at,
        "version": view.version,
        "view": view.model_dump(mode="json"),
    }


def record_view(
    session: Session,
    model: type[RowT],
    kind: str,
    key: str,
    view: StoredView,
    values: dict[str, Any],
    *,
    also: Callable[[Any], object] | None = None,
) -> bool:
    """Store ``values``, the row of ``model`` for ``view``, unless a newer or equal version
    is stored; ``True`` if it was written.

    When written, the view's new transitions become events of ``kind`` in the same
    transaction (``oms.store.events``), then ``also`` runs with the view the row held
    before (None for a new row). Raises what ``upsert_versioned`` raises.
    """

    def written(previous: Any) -> None:
        record_transitions(session, kind, key, previous, view)
        if also is not None:
            also(previous)

    return upsert_versioned(session, model, key, view.version, values, on_write=written)


def stored_view(
    session: Session, model: type[ReadModel], key: str, view_type: type[ViewT]
) -> ViewT | None:
    """The view stored in the row ``key`` of ``model``, or None when there is no such row."""
    row = session.get(model, key)
    return None if row is None else view_type.model_validate(row.view)


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
    row, inserted = get_or_insert(
        session, model, key, lambda: model(**values), with_for_update=True, populate_existing=True
    )
    if inserted:
        if on_write is not None:
            on_write(None)
        return True
    if version <= row.version:
        return False
    previous = getattr(row, "view", None)
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    if on_write is not None:
        on_write(previous)
    return True
