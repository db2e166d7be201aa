"""An order's stock, for ``OrderWorkflow``: allocate it, owe what no warehouse has, claim
it when it arrives, and release it (waking the orders the freed units fill).

Workflow code (no I/O): every effect is an inventory activity on its business key
(``<order>:allocate``, ``<order>:claim:<n>``, ``<order>:reroute:<n>``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.inventory import InventoryActivities
    from oms.ids import order_workflow_id
    from oms.models.common import SkuQuantity
    from oms.models.inventory import (
        AllocateRequest,
        AllocationDecision,
        BackorderCheck,
        BackorderFill,
        ReleaseRequest,
    )
    from oms.models.orders import BackorderWake, OrderInput, OrderView
    from oms.queues import INVENTORY_QUEUE
    from workflows import policies

WAKE_SIGNAL = "backorder_wake"


async def wake(order_id: str, message: BackorderWake | None = None) -> None:
    """Tell an order that units went to its backorder (``OrderWorkflow.backorder_wake``).

    A failure is only logged: the order re-checks its backorder on a timer.
    """
    try:
        await workflow.get_external_workflow_handle(order_workflow_id(order_id)).signal(
            WAKE_SIGNAL, message or BackorderWake()
        )
    except Exception:
        workflow.logger.warning("could not wake order %s", order_id)


class Stock:
    """The order's reservations and backorders (``view.backordered``)."""

    def __init__(self, inp: OrderInput, view: OrderView) -> None:
        self._inp, self._view = inp, view
        self._queue = inp.options.task_queue_prefix + INVENTORY_QUEUE
        # Counters in the activities' keys; public so a continued run carries them on.
        self.claims = self.reroutes = 0
        self.owed_since: datetime | None = None
        # Of the owed units, those owed at no charge (a claim's reship: the customer paid
        # for them once), per SKU, as the store keeps them: a line cancel refunds these.
        self.free_owed: dict[str, int] = {}

    async def allocate(
        self,
        first_shipment_no: int,
        lines: list[SkuQuantity] | None = None,
        key: str | None = None,
        free: bool = False,
        **where: Any,
    ) -> AllocationDecision:
        """Reserve ``lines`` (default: the whole order) nearest the customer; a re-route
        names ``exclude_warehouses`` or ``only_warehouses`` and gets a key of its own, as
        does a claim's reship (``key``, ``free``: what it owes is owed at no charge)."""
        inp, view = self._inp, self._view
        if key is None and where:
            self.reroutes += 1
            key = f"{inp.order_id}:reroute:{self.reroutes}"
        key = key or f"{inp.order_id}:allocate"
        # The order's lines and address as they are now (an edit before allocation may have
        # changed them; otherwise they are the input's).
        decision = await workflow.execute_activity_method(
            InventoryActivities.allocate,
            AllocateRequest(
                key=key,
                order_id=inp.order_id,
                lines=lines or [SkuQuantity(sku=li.sku, quantity=li.quantity) for li in view.lines],
                postal_code=view.ship_to.postal_code,
                city=view.ship_to.city,
                country=view.ship_to.country,
                placed_at=inp.placed_at,
                first_shipment_no=first_shipment_no,
                free=free,
                **where,
            ),
            **policies.STORE.kwargs(self._queue, "allocate stock" if not where else "re-allocate"),
        )
        self._view.allocations.append(decision)
        return decision

    def owe(self, owed: list[SkuQuantity]) -> dict[str, Any]:
        """Set what is owed; the stage and clock a status takes while units are owed (its
        clock runs from when stock was first missing)."""
        self._view.backordered = list(owed)
        owes = {ln.sku: ln.quantity for ln in owed}
        self.free_owed = {
            sku: min(n, owes.get(sku, 0)) for sku, n in self.free_owed.items() if owes.get(sku)
        }
        if not owed:
            self.owed_since = None
            return {}
        self.owed_since = self.owed_since or workflow.now()
        return {"stage": "awaiting_stock", "clock_start": self.owed_since}

    def owe_more(self, lines: list[SkuQuantity], free: bool = False) -> None:
        """Owe ``lines`` on top of what is owed already: one line per SKU, by SKU; ``free``:
        at no charge (a claim's reship)."""
        owed = {ln.sku: ln.quantity for ln in self._view.backordered}
        for ln in lines:
            owed[ln.sku] = owed.get(ln.sku, 0) + ln.quantity
            if free:
                self.free_owed[ln.sku] = self.free_owed.get(ln.sku, 0) + ln.quantity
        self.owe([SkuQuantity(sku=s, quantity=q) for s, q in sorted(owed.items())])

    def take_owed(self, sku: str, quantity: int) -> int:
        """``quantity`` owed units of ``sku`` are cancelled: how many of them were owed at
        no charge (those go first, in the store too: ``oms.store.line_cancels.trim``)."""
        free = min(self.free_owed.get(sku, 0), quantity)
        if free:
            self.free_owed[sku] -= free
        return free

    async def claim(self, first_shipment_no: int) -> BackorderFill:
        """Claim arrived stock for the backorders, first placed first served."""
        self.claims += 1
        fill = await workflow.execute_activity_method(
            InventoryActivities.claim_backorders,
            BackorderCheck(
                key=f"{self._inp.order_id}:claim:{self.claims}",
                order_id=self._inp.order_id,
                first_shipment_no=first_shipment_no,
            ),
            **policies.STORE.kwargs(self._queue, "claim arrived stock"),
        )
        if fill.shipments:
            for plan in fill.shipments:
                for ln in plan.lines if plan.free else ():
                    self.take_owed(ln.sku, ln.quantity)  # filled: no longer owed
            self.owe(fill.still_backordered)
        return fill

    async def release(self, shipment_id: str | None = None) -> None:
        """Release the order's reservations (or one shipment's) and tell the orders whose
        backorders the freed units fill."""
        released = await workflow.execute_activity_method(
            InventoryActivities.release,
            ReleaseRequest(order_id=self._inp.order_id, shipment_id=shipment_id),
            **policies.STORE.kwargs(
                self._queue, f"release {shipment_id}" if shipment_id else "release reservations"
            ),
        )
        for other in released.filled_orders:
            await wake(other)
