"""Company credit activities: reserve credit for an order, consume it, release the rest.

Each runs one database transaction and is idempotent on its business key, so
retries are safe. Business rejections raise a non-retryable ``ApplicationError``
whose ``type`` is the store exception's name (``UnknownCompany``,
``InvalidCreditMovement``); an order over its company's limit is not an error
but a ``CreditReservation`` with status ``over_limit``. Database errors
propagate so Temporal retries them. Synchronous: run them on the worker's
thread pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from oms.models.credit import (
    ConsumeCredit,
    CreditMovement,
    CreditReservation,
    ReleaseCredit,
    ReserveCredit,
)
from oms.store import credit
from oms.store.db import Database
from oms.store.errors import StoreError

T = TypeVar("T")


class CreditActivities:
    """Activities over the credit ledger, built with the process's ``Database``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _run(self, work: Callable[[Session], T]) -> T:
        try:
            with self._db.session() as session:
                return work(session)
        except StoreError as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc

    @activity.defn(name="credit.reserve")
    def reserve(self, request: ReserveCredit) -> CreditReservation:
        """Hold the order's amount of its company's credit; idempotent on ``request.key``.

        Beyond the available credit (and without ``allow_over_limit``) nothing is
        reserved and the status is ``over_limit``, with the company's hold/refuse rule.
        """
        return self._run(lambda s: credit.reserve(s, request))

    @activity.defn(name="credit.release")
    def release(self, request: ReleaseCredit) -> CreditMovement:
        """Give back what is still reserved for the order; a second call releases 0."""
        return self._run(lambda s: credit.release(s, request))

    @activity.defn(name="credit.consume")
    def consume(self, request: ConsumeCredit) -> CreditMovement:
        """Turn part of the order's reservation into used credit; idempotent on ``request.key``."""
        return self._run(lambda s: credit.consume(s, request))
