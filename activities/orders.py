"""Read-model activities: the order and shipment workflows publish their views here.

Writes are versioned: an older view never overwrites a newer one, so a retried
or late activity is harmless (``written=False``). Database errors propagate so
Temporal retries them. Synchronous: run them on the worker's thread pool.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from temporalio import activity

from oms.domain import risk
from oms.models.orders import OrderRefund, OrderView, ReadModelWrite, RecordResult, RefundOutcome
from oms.models.risk import CustomerOrders, RiskCheck, RiskReview, RiskRules
from oms.models.shipments import ShipmentView


class ReadModel(Protocol):
    """The order and shipment read model (``oms.store.orders.ReadModelStore``)."""

    def record_order(self, view: OrderView) -> bool: ...

    def record_shipment(self, view: ShipmentView) -> bool: ...

    def record_views(self, order: OrderView, shipments: Iterable[ShipmentView]) -> bool: ...


class ReadModelActivities:
    """Activities that write the API's read model, built with it."""

    def __init__(self, read_model: ReadModel) -> None:
        self._read_model = read_model

    @activity.defn(name="orders.record_order")
    def record_order(self, view: OrderView) -> RecordResult:
        """Store the order's view unless a newer version is already stored."""
        return RecordResult(written=self._read_model.record_order(view))

    @activity.defn(name="orders.record_shipment")
    def record_shipment(self, view: ShipmentView) -> RecordResult:
        """Store the shipment's view unless a newer version is already stored."""
        return RecordResult(written=self._read_model.record_shipment(view))

    @activity.defn(name="orders.record_views")
    def record_views(self, write: ReadModelWrite) -> RecordResult:
        """Store the order's view and its new shipments' placeholders in one transaction.

        A placeholder has version 0: it is stored only where the shipment has no row yet,
        so it never overwrites what the shipment wrote itself.
        """
        return RecordResult(written=self._read_model.record_views(write.order, write.shipments))


class CustomerHistory(Protocol):
    """A customer's orders as the risk review counts them (``ReadModelStore``)."""

    def customer_orders(self, check: RiskCheck) -> CustomerOrders: ...


class RiskActivities:
    """The risk review of an order before allocation, built with the store and the rules."""

    def __init__(self, history: CustomerHistory, rules: RiskRules) -> None:
        self._history, self._rules = history, rules

    @activity.defn(name="orders.review_risk")
    def review_risk(self, check: RiskCheck) -> RiskReview:
        """The rules ``check``'s order breaks, with the customer's counts from the store."""
        counts = self._history.customer_orders(check)
        return RiskReview(findings=risk.review(check, counts, self._rules))


class RefundRecords(Protocol):
    """Refunds without a return (``oms.store.refunds.RefundStore``)."""

    def finish(
        self, order_id: str, key: str, refund_id: str | None, error: str | None, now: datetime
    ) -> OrderRefund: ...


class RefundActivities:
    """Records what the provider answered a refund without a return, built with the store."""

    def __init__(self, records: RefundRecords) -> None:
        self._records = records

    @activity.defn(name="orders.record_refund")
    def record_refund(self, outcome: RefundOutcome) -> OrderRefund:
        """Mark the key's refund refunded or declined (the first answer stays)."""
        return self._records.finish(
            outcome.order_id, outcome.key, outcome.refund_id, outcome.error, outcome.at
        )
