"""Return activities: check a return against the store, say what is left to refund on its
order, and publish the return's view.

Eligibility reads the order, its delivered shipments, the products' returnable
flags and earlier returns in one transaction, then applies the pure rules of
``oms.domain.returns``; an ineligible request is an answer, not an error.
Database errors propagate so Temporal retries them. Synchronous: run them on
the worker's thread pool.
"""

from __future__ import annotations

from typing import Protocol

from temporalio import activity

from oms.domain.returns import check_eligibility
from oms.models.orders import RecordResult
from oms.models.returns import (
    EligibilityRequest,
    EligibilityResult,
    RefundRoom,
    RefundRoomRequest,
    ReturnFacts,
    ReturnView,
)


class Returns(Protocol):
    """What the return activities read and write (``oms.store.returns.ReturnStore``)."""

    def eligibility_facts(self, order_id: str, rma_id: str | None = None) -> ReturnFacts: ...

    def refund_room(self, order_id: str, rma_id: str) -> RefundRoom: ...

    def record_return(self, view: ReturnView) -> bool: ...


class ReturnActivities:
    """Activities of the return workflow, built with its store."""

    def __init__(self, store: Returns) -> None:
        self._store = store

    @activity.defn(name="returns.check_eligibility")
    def check_eligibility(self, request: EligibilityRequest) -> EligibilityResult:
        """Whether the order's lines can still be returned as asked, and where they go back to.

        Other returns of the order count against the quantities; this one
        (``request.rma_id``) does not.
        """
        facts = self._store.eligibility_facts(request.order_id, request.rma_id)
        problems = check_eligibility(facts, request.lines, request.at, request.window_days)
        return EligibilityResult(
            eligible=not problems,
            problems=problems,
            return_warehouse_id=facts.return_warehouse_id,
            return_to=facts.return_to,
        )

    @activity.defn(name="returns.refund_room")
    def refund_room(self, request: RefundRoomRequest) -> RefundRoom:
        """What the order captured and what was refunded on it by all but this return
        (``request.rma_id``), read at refund time so a return never asks for more than is
        left; ``captured`` None when the store knows of no capture."""
        return self._store.refund_room(request.order_id, request.rma_id)

    @activity.defn(name="returns.record_return")
    def record_return(self, view: ReturnView) -> RecordResult:
        """Store the return's view and lines unless a newer version is already stored."""
        return RecordResult(written=self._store.record_return(view))
