"""An order's shipments, for ``OrderWorkflow``: start one child per planned parcel, follow
what each tells the order (shipped, held, late by signal; delivered or cancelled by its
result) and stop the ones that have not shipped.

Workflow code (no I/O). The order reads :attr:`Shipments.changed` to re-derive its status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from oms import search_attributes as sa
    from oms.domain import lifecycle
    from oms.domain.tax import parcel_charge, shipping_gross
    from oms.ids import shipment_workflow_id
    from oms.models.common import SkuQuantity
    from oms.models.inventory import PlannedShipment
    from oms.models.orders import OrderInput, OrderView, ShipmentSummary
    from oms.models.shipments import (
        SHIPPED_STATES,
        CancelShipment,
        ShipmentInput,
        ShipmentLine,
        ShipmentMilestone,
        ShipmentStatus,
        ShipmentView,
    )
    from oms.queues import WORKFLOW_QUEUE
    from oms.views import shipments as shipment_views
    from workflows.shipment import ShipmentWorkflow
    from workflows.tracker import Tracker

# A shipment that will not change the order any more, but for its delivery.
DONE = frozenset({*SHIPPED_STATES, ShipmentStatus.CANCELLED, ShipmentStatus.CLAIMED})
# A shipment whose workflow has ended (nothing of it runs any more).
ENDED = (ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED, ShipmentStatus.CLAIMED)
# ``Shipments.shipping_on`` for a charge placed by an earlier run of the order.
CARRIED = "carried"


class Shipments:
    """The order's children and what the order knows of each (its view's summaries)."""

    def __init__(self, inp: OrderInput, view: OrderView, track: Tracker[OrderView]) -> None:
        self._inp, self._view, self._track = inp, view, track
        self.by_id: dict[str, ShipmentSummary] = {}
        self._children: dict[str, workflow.ChildWorkflowHandle[Any, ShipmentView]] = {}
        self._followers: list[asyncio.Task[None]] = []
        self._failure: ChildWorkflowError | None = None
        self.placeholders: list[ShipmentView] = []
        # The shipments started at no charge (a claim's reship): a re-route of one is free
        # too. Never carried into a new run: it continues only once every shipment ended.
        self.free: set[str] = set()
        self.next_no = 1
        self.changed = False
        # The parcel that carries the order's shipping charge (only one does); CARRIED when
        # a run before this one (continue-as-new) placed it on a parcel that went out.
        self.shipping_on: str | None = None

    @property
    def charged_shipping(self) -> bool:
        """Whether a parcel that has not been cancelled carries the shipping charge: an edit
        or a re-route that cancels that parcel moves the charge to the next one."""
        if self.shipping_on is None:
            return False
        summary = self.by_id.get(self.shipping_on)
        return summary is None or summary.status != ShipmentStatus.CANCELLED.value

    def known(self, shipment_id: str) -> ShipmentSummary:
        """The order's shipment ``shipment_id`` (for an update's validator); raises
        ``ApplicationError(type="UnknownShipment")`` when the order has none by that id."""
        summary = self.by_id.get(shipment_id)
        if summary is None:
            raise ApplicationError(f"order has no shipment {shipment_id}", type="UnknownShipment")
        return summary

    def statuses(self) -> list[ShipmentStatus]:
        if self._failure is not None:
            raise self._failure  # a shipment failed: the order fails with it
        return [ShipmentStatus(s.status) for s in self.by_id.values()]

    def shipped(self) -> list[ShipmentSummary]:
        return [s for s in self.by_id.values() if s.status in SHIPPED_STATES]

    def claimed(self) -> list[ShipmentSummary]:
        """Parcels settled by a claim: they left the warehouse and were charged as shipped
        ones were (a lost one's reship is a new, free parcel)."""
        return [s for s in self.by_id.values() if s.status == ShipmentStatus.CLAIMED]

    def charged(self) -> Decimal | None:
        """What the parcels that shipped charged the customer, as each parcel computes it
        (``Parcel.amount``): None when no paid parcel shipped. A parcel sent at no charge,
        or whose charge the provider refused (``uncollected``), charged nothing."""
        inp, charged, any_paid = self._inp, Decimal("0.00"), False
        if inp.payment.method == "exchange":
            return None  # a return's replacement: nothing is charged
        for summary in self._view.shipments:  # a continued run's too
            if summary.status not in SHIPPED_STATES or summary.shipment_id in self.free:
                continue
            any_paid = True
            if summary.uncollected is not None:
                continue
            lines = self._priced(summary.lines)
            totals = inp.totals
            if totals is None:
                charged += sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0.00"))
                continue
            shipping = shipping_gross(totals) if summary.shipment_id == self.shipping_on else 0
            charged += parcel_charge(
                lines,
                currency=inp.currency,
                prices_include_tax=totals.prices_include_tax,
                shipping=Decimal(shipping),
            )
        return charged if any_paid else None

    def _priced(self, units: Iterable[SkuQuantity]) -> list[ShipmentLine]:
        """``units`` at the order's prices and VAT rates as they are now (an edit may have
        changed the lines since it was placed)."""
        by_sku = {li.sku: li for li in (*self._inp.lines, *self._view.lines)}
        return [
            ShipmentLine(
                sku=ln.sku,
                quantity=ln.quantity,
                unit_price=by_sku[ln.sku].unit_price,
                tax_rate=by_sku[ln.sku].tax_rate,
            )
            for ln in units
        ]

    async def start(
        self, planned: list[PlannedShipment], authorization_id: str, free: bool = False
    ) -> None:
        """Start one shipment per planned parcel, picking at its warehouse (``free``: a
        claim's reship, or units it owed filled later, which capture nothing).

        Raises ``ApplicationError(type="WarehouseWithoutAddress")`` for a warehouse with
        no address to ship from.
        """
        now = workflow.now()
        for plan in planned:
            lines = self._priced(plan.lines)
            child = _shipment_input(self._inp, self._view, plan, lines, authorization_id)
            if free:
                child.payment_method = "exchange"
            totals = self._inp.totals
            if totals is not None and not free:
                # Charged as priced; the first parcel carries the shipping (captured with it).
                child.prices_include_tax = totals.prices_include_tax
                if not self.charged_shipping:
                    child.shipping_charge = shipping_gross(totals)
                    self.shipping_on = plan.shipment_id
                if totals.base_currency != child.currency:
                    child.base_currency, child.base_rate = totals.base_currency, totals.base_rate
            # Known before the start: the child's first milestone may come in the same
            # activation as its start (a worker that died with the task leaves both queued).
            summary = ShipmentSummary(
                shipment_id=plan.shipment_id,
                warehouse_id=plan.warehouse_id,
                lines=[SkuQuantity(sku=ln.sku, quantity=ln.quantity) for ln in plan.lines],
                status=ShipmentStatus.PICKING.value,
            )
            self.by_id[plan.shipment_id] = summary
            if free:
                self.free.add(plan.shipment_id)
            self._view.shipments.append(summary)
            self.placeholders.append(shipment_views.placeholder(child, now))
            self._track.changed()
            handle = await workflow.start_child_workflow(
                ShipmentWorkflow.run,
                child,
                id=shipment_workflow_id(plan.shipment_id),
                task_queue=self._inp.options.task_queue_prefix + WORKFLOW_QUEUE,
                static_summary=(
                    f"Shipment {plan.shipment_id} · {plan.warehouse_id} · "
                    f"{sum(ln.quantity for ln in plan.lines)} unit(s)"
                ),
                search_attributes=_started(child, now),
            )
            self._children[plan.shipment_id] = handle
            self.next_no += 1
            self._followers.append(asyncio.create_task(self._follow(plan.shipment_id, handle)))

    def milestone(self, milestone: ShipmentMilestone) -> None:
        """A shipment shipped, is held or is late (its end comes as its result)."""
        known = self.by_id.get(milestone.shipment_id)
        if known is None or known.status in ENDED:
            return
        known.status = str(milestone.status)
        known.carrier, known.service = milestone.carrier, milestone.service
        known.tracking_number = milestone.tracking_number
        if milestone.uncollected is not None:
            # Shipped without its payment (the provider refused it for good): the order
            # completes as its parcels do; its view keeps what was not collected, and why.
            known.uncollected, known.capture_error = milestone.uncollected, milestone.capture_error
        if milestone.ship_to is not None:
            # A person corrected the address the carrier refused: the order's address from
            # now on (its parcels to come, a reship, its view).
            self._view.ship_to = milestone.ship_to
        self._track.note(f"{milestone.shipment_id}: {milestone.note}")
        self.changed = True

    async def stop(self, reason: str, only: str | None = None) -> None:
        """Ask every shipment (or ``only`` one) that has not shipped to stop, and wait
        until each stopped or, if the cancel came after its label, shipped."""
        targets = [s for s in self.by_id.values() if only in (None, s.shipment_id)]
        for summary in targets:
            if summary.status not in DONE:
                await self._children[summary.shipment_id].signal(
                    ShipmentWorkflow.cancel, CancelShipment(reason=reason)
                )
        await workflow.wait_condition(lambda: all(s.status in DONE for s in targets))

    def take_placeholders(self, written: list[ShipmentView]) -> None:
        """Forget the placeholders a read-model write stored."""
        self.placeholders = [p for p in self.placeholders if p not in written]

    async def _follow(
        self, shipment_id: str, handle: workflow.ChildWorkflowHandle[Any, ShipmentView]
    ) -> None:
        try:
            result = await handle
        except ChildWorkflowError as err:
            self._failure = err
        else:
            summary = self.by_id[shipment_id]
            summary.status = result.status.value
            summary.carrier, summary.service = result.carrier, result.service
            summary.tracking_number = result.tracking_number
        self.changed = True


def _started(child: ShipmentInput, now: datetime) -> Any:
    """The search attributes a shipment starts with (its tracker upserts only changes)."""
    step = lifecycle.SHIPMENT.step(ShipmentStatus.PICKING)
    return sa.typed(
        {
            "OmsKind": "shipment",
            "OmsWarehouse": child.warehouse_id,
            **lifecycle.attributes(step, now, {lifecycle.PICK: child.pick_sla_s}),
        }
    )


def _shipment_input(
    inp: OrderInput,
    view: OrderView,
    plan: PlannedShipment,
    lines: list[ShipmentLine],
    authorization_id: str,
) -> ShipmentInput:
    if plan.ship_from is None:
        raise ApplicationError(
            f"warehouse {plan.warehouse_id} has no address", type="WarehouseWithoutAddress"
        )
    opts = inp.options
    return ShipmentInput(
        shipment_id=plan.shipment_id,
        order_id=inp.order_id,
        warehouse_id=plan.warehouse_id,
        ship_from=plan.ship_from,
        ship_to=view.ship_to,
        lines=lines,
        currency=inp.currency,
        shipping_speed=view.shipping_speed,
        customer=inp.customer,
        authorization_id=authorization_id,
        payment_method=inp.payment.method,
        pick_sla_s=opts.pick_sla_s,
        ops_email=opts.ops_email,
        step_deadline_s=opts.step_deadline_s,
        delivery_deadline_s=opts.delivery_deadline_s,
        task_queue_prefix=opts.task_queue_prefix,
        reports="milestones",
    )
