"""Inventory activities: reserve, release, consume and claim stock in the OMS store.

Each runs one database transaction. Business rejections (an unknown SKU or
warehouse) raise a non-retryable ``ApplicationError`` whose ``type`` is the
store exception's name (``UnknownSku``, ``UnknownWarehouse``,
``StockBelowReserved``); database errors propagate so Temporal retries them.
Every operation is idempotent, so those retries are safe.

The activities are synchronous (a blocking store): the worker must be
given an ``activity_executor`` (a thread pool).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from temporalio import activity

from activities.rejections import translated
from oms.models.inventory import (
    AllocateRequest,
    AllocationDecision,
    BackorderCheck,
    BackorderFill,
    ConsumeRequest,
    ConsumeResult,
    ReleaseRequest,
    ReleaseResult,
    StockReceipt,
)
from oms.models.order_changes import (
    BackorderResult,
    BackorderUnits,
    Reallocate,
    Reallocation,
    TrimReservation,
)
from oms.models.returns import StockMovement


class LowStockHook(Protocol):
    """Told which SKUs a reservation took (``activities.replenishment.LowStock``); never raises."""

    def after_reservation(self, skus: Collection[str]) -> list[str]: ...


class Stock(Protocol):
    """The stock tables (``oms.store.inventory.StockStore``)."""

    def allocate(self, req: AllocateRequest) -> AllocationDecision: ...

    def release(self, req: ReleaseRequest) -> ReleaseResult: ...

    def consume(self, req: ConsumeRequest) -> ConsumeResult: ...

    def claim_backorders(self, req: BackorderCheck) -> BackorderFill: ...

    def trim(self, req: TrimReservation) -> ReleaseResult: ...

    def backorder(self, req: BackorderUnits) -> BackorderResult: ...

    def reallocate(self, req: Reallocate) -> Reallocation: ...

    def restock(self, move: StockMovement) -> StockReceipt: ...

    def write_off(self, move: StockMovement) -> StockReceipt: ...


class InventoryActivities:
    """Activities over the stock tables, built with the stock store.

    With a ``low_stock`` hook, every allocation then checks the SKUs it
    touched against their reorder points (after its own transaction commits).
    """

    def __init__(self, stock: Stock, low_stock: LowStockHook | None = None) -> None:
        self._stock = stock
        self._low_stock = low_stock

    @activity.defn(name="inventory.allocate")
    def allocate(self, request: AllocateRequest) -> AllocationDecision:
        """Reserve the order's lines in the nearest warehouses and backorder the rest.

        Idempotent on ``request.key``: a retry returns the first decision.
        Raises ApplicationError ``UnknownSku`` (non-retryable) for a SKU not in the catalogue,
        ``IdempotencyMismatch`` (non-retryable) for a key first used for other lines.
        Then, with a low-stock hook, opens a replenishment for any SKU now at or
        below its reorder point (a retry checks again; opening is idempotent).
        """
        decision = translated(lambda: self._stock.allocate(request))
        if self._low_stock is not None:
            skus = {ln.sku for shipment in decision.shipments for ln in shipment.lines}
            self._low_stock.after_reservation(skus | {ln.sku for ln in decision.backordered})
        return decision

    @activity.defn(name="inventory.release")
    def release(self, request: ReleaseRequest) -> ReleaseResult:
        """Give back an order's (or one shipment's) reserved units.

        Releasing the whole order also cancels its backorders. ``filled_orders``
        names other orders whose backorders the freed units filled: the caller
        should wake them. Units may also fill this order's own backorders after
        a one-shipment release; they wait for its ``claim_backorders``. A second
        call releases nothing.
        """
        return translated(lambda: self._stock.release(request))

    @activity.defn(name="inventory.consume")
    def consume(self, request: ConsumeRequest) -> ConsumeResult:
        """Record that a shipment left the warehouse: its reserved units leave stock.

        A second call consumes nothing.
        """
        return translated(lambda: self._stock.consume(request))

    @activity.defn(name="inventory.claim_backorders")
    def claim_backorders(self, request: BackorderCheck) -> BackorderFill:
        """Turn units that arrived for the order's backorders into shipments.

        Idempotent on ``request.key``: a retry returns the same shipments.
        """
        return translated(lambda: self._stock.claim_backorders(request))

    @activity.defn(name="inventory.trim")
    def trim(self, request: TrimReservation) -> ReleaseResult:
        """Keep at most ``request.keep`` units of a SKU for the order (one shipment's
        reservations, or what it is owed) and free the rest: part of a line was cancelled.

        A target, so a retry frees nothing more. ``filled_orders`` names other orders whose
        backorders the freed units filled: the caller should wake them.
        """
        return translated(lambda: self._stock.trim(request))

    @activity.defn(name="inventory.backorder")
    def backorder(self, request: BackorderUnits) -> BackorderResult:
        """Owe a short pick's missing units to the order again and fill them at once from
        free stock anywhere; idempotent on ``request.key``. The caller wakes the other
        ``filled_orders`` and claims its own.
        """
        return translated(lambda: self._stock.backorder(request))

    @activity.defn(name="inventory.reallocate")
    def reallocate(self, request: Reallocate) -> Reallocation:
        """Allocate an edited order anew: every open reservation and owed unit of it is
        given back and its new lines allocated, in one transaction; idempotent on
        ``request.key``. ``filled_orders``: other orders to wake. Raises ApplicationError
        ``UnknownSku`` (non-retryable).
        """
        return translated(lambda: self._stock.reallocate(request))

    @activity.defn(name="inventory.restock")
    def restock(self, request: StockMovement) -> StockReceipt:
        """Put returned resellable units back on hand and fill backorders there, oldest first.

        Idempotent on ``request.key``: a retry changes nothing and names the same
        ``filled_orders``, which the caller should wake. Raises ApplicationError
        ``UnknownWarehouse`` / ``UnknownSku`` (non-retryable).
        """
        return translated(lambda: self._stock.restock(request))

    @activity.defn(name="inventory.write_off")
    def write_off(self, request: StockMovement) -> StockReceipt:
        """Record returned units that cannot be sold again; idempotent on ``request.key``."""
        return translated(lambda: self._stock.write_off(request))
