"""An order's fulfilment as a whole, for ``OrderWorkflow``: the first allocation and its
shipments, the status the shipments and backorders make, backorders filled into new
shipments when stock arrives, re-routes, and the main loop that follows all of it to the
end (or to a cancel, or to a new run while it only waits for stock).

Workflow code (no I/O).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from oms.domain import lifecycle
    from oms.domain.fulfilment import is_finished, order_status
    from oms.domain.money import format_money
    from oms.models.inventory import PlannedShipment
    from oms.models.ops import RerouteShipment
    from oms.models.orders import CancelOrder, OrderStatus
    from oms.models.shipments import ShipmentStatus
    from oms.views import orders as views
    from workflows.order_cancel import Cancellation
    from workflows.order_continue import Continuation
    from workflows.order_lines import LineCancels
    from workflows.order_payment import Payment
    from workflows.order_shipments import DONE, Shipments
    from workflows.order_state import OrderRun
    from workflows.order_stock import Stock

# Patch: a run with this marker continues as new while it waits for stock with no shipment
# under way, once its history is long; one without waits in the same run (until the limit).
CONTINUE_AS_NEW_PATCH = "order-continue-as-new"
# Patch: a re-route that leaves units owed sends the customer the backorder email, as the
# first allocation does; asked only when it owed some. A run without it sent none.
REROUTE_BACKORDER_EMAIL_PATCH = "order-reroute-backorder-email"
# Patch: a backorder fill ships units a claim's reship owed (``PlannedShipment.free``) at no
# charge; asked only when a fill has such a parcel. A run without it started every filled
# parcel as paid, and replays so.
RESHIP_OWED_FREE_PATCH = "order-reship-owed-free"
# Patch: a re-route of a parcel sent at no charge (a claim's reship) allocates and ships at
# no charge too; asked only for such a parcel. A run without it re-routed it as paid.
REROUTE_FREE_PATCH = "order-reroute-reship-free"
# Patch: the order's status waits from the re-routed parcel's stop until its replacement
# (new parcels, units owed) is recorded. A run without it worked the status out meanwhile:
# beside delivered parcels the stopped one made the order ``delivered`` for a moment.
REROUTE_STATUS_HELD_PATCH = "order-reroute-status-held"
# Patch: a cancel that came while the first allocation was under way (its decision, or the
# re-authorization before its first paid parcel, not back yet) leaves nothing owed: no parcel
# starts, the status stays until the cancel ends the order, and no backorder email goes out;
# the compensation releases the reservation. Asked only on that path. A run without it owed
# the reserved units: the order read ``backordered`` (event ``order.backordered``) before
# ``cancelled``, and replays so.
CANCEL_DURING_ALLOCATION_PATCH = "order-cancel-during-allocation-not-owed"
# The statuses in which the order may owe units (its backorder clock runs).
_OWED_STATUSES = (
    OrderStatus.BACKORDERED,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
)


class Fulfilment:
    """The order's shipments and backorders from its allocation to its end."""

    def __init__(self, run: OrderRun, parts: tuple[Shipments, Stock, Payment, LineCancels]) -> None:
        self._inp, self._view, self._track, self._state = run.inp, run.view, run.track, run.state
        self._shipments, self._stock, self._payment, self._lines = parts
        self._email = run.email

    async def allocate(self, confirmed: Awaitable[None]) -> bool:
        """Allocate the order's stock while ``confirmed`` (its confirmation email) is sent,
        enter what it decided and start its shipments; True when some units are owed."""
        # The confirmation and the allocation need nothing of each other.
        allocated = self._stock.allocate(self._shipments.next_no)
        decision, _ = await asyncio.gather(allocated, confirmed)
        self._state.decided = True
        if self._state.cancel is not None and workflow.patched(CANCEL_DURING_ALLOCATION_PATCH):
            # The cancel came while the stock was being allocated: the decision is kept on
            # record, but nothing starts and nothing is owed (the units are reserved, not
            # missing); the main loop's compensation releases the reservation.
            self._track.note(f"{views.allocation_note(decision)}; not started: cancelling")
            self._state.allocated = True
            return False
        self._track.enter(
            OrderStatus.BACKORDERED if decision.backordered else OrderStatus.ALLOCATED,
            views.allocation_note(decision),
            **self._stock.owe(decision.backordered),
        )
        # An order held for review (or its approvals) for days may hold an ageing authorization.
        authorization_id = await self._authorization_for(decision.shipments)
        if authorization_id is None:
            if workflow.patched(CANCEL_DURING_ALLOCATION_PATCH):
                # Cancelled while it authorized again (or its hold for a new card timed out):
                # the status stays until the cancel ends the order, with no backorder email.
                self._state.allocated = True
                return False
            # Before the patch: the units stay owed (and reserved) until the main loop's
            # compensation releases them, which made the order read as backordered.
            self._stock.owe_more([ln for s in decision.shipments for ln in s.lines])
        else:
            await self._shipments.start(decision.shipments, authorization_id)
        self._state.allocated = True
        self.refresh_status()
        return bool(decision.backordered)

    async def follow(self, cancellation: Cancellation, continuation: Continuation) -> bool:
        """Follow shipments and backorders to the end; True when the order was cancelled."""
        state, shipments, lines = self._state, self._shipments, self._lines
        recheck = timedelta(seconds=self._inp.options.backorder_recheck_s)
        while True:
            # A line cancellation, claim or re-route under way holds the status until it
            # is recorded.
            if shipments.changed and not state.status_held:
                shipments.changed = False
                self.refresh_status()
            owed = bool(self._view.backordered)
            settled = not state.rerouting and not lines.shorts and not state.status_held
            if shipments.by_id and settled and is_finished(shipments.statuses(), owed):
                return False
            if owed and continuation.history_is_long() and workflow.patched(CONTINUE_AS_NEW_PATCH):
                await continuation.carry_on()
            try:
                await workflow.wait_condition(
                    lambda: (
                        state.cancel is not None
                        or state.wake
                        or (shipments.changed and not state.status_held)
                        or bool(lines.shorts)
                    ),
                    timeout=recheck if owed else None,
                    timeout_summary="backorder re-check" if owed else None,
                )
            except TimeoutError:
                state.wake = True  # a missed wake-up signal costs one re-check period, no more
            if (
                state.cancel is not None
                and not state.cancel_done
                and await cancellation.compensate()
            ):
                return True
            if lines.shorts and not state.cancel_done:
                async with state.stock_lock:
                    state.wake = await lines.settle_shorts() or state.wake
            if state.wake:
                state.wake = False
                if self._view.backordered:
                    async with state.stock_lock:
                        await self.claim_backorders()
            if lines.owed_shorts:
                # After the claim: a short pick's units free stock filled are not owed.
                await lines.tell_owed_shorts()

    def refresh_status(self) -> None:
        """The status the shipments and backorders make, entered if it changed (later,
        while a claimed or re-routed parcel's replacement is not on record yet)."""
        if self._state.replacing:
            self._shipments.changed = True  # the main loop works it out once recorded
            return
        owed = self._view.backordered
        new = order_status(self._shipments.statuses(), bool(owed))
        if new == OrderStatus.CANCELLED and self._state.cancel is None:
            new = self._view.status  # only a cancel ends an order as cancelled
        stage = self._stock.owe(owed) if new in _OWED_STATUSES else {}
        if lifecycle.ORDER.step(new, stage.get("stage")) != self._track.step:
            self._track.enter(new, views.shipments_note(self._shipments.by_id.values()), **stage)
        else:
            self._track.changed()

    async def claim_backorders(self) -> None:
        """Claim stock that arrived for the owed lines and ship what it fills: units a
        claim's reship owed at no charge (the customer paid for them once) in parcels that
        capture nothing, the rest as paid parcels."""
        fill = await self._stock.claim(self._shipments.next_no)
        if fill.shipments:
            lines = (ln for s in fill.shipments for ln in s.lines)
            self._track.note(f"Backorder filled: {views.units(lines)}")
            authorization_id = await self._authorization_for(fill.shipments)
            if authorization_id is None:
                # Cancelled while its payment was on hold: the units stay owed (and claimed)
                # until the main loop's compensation releases them with the rest.
                self._stock.owe_more([ln for s in fill.shipments for ln in s.lines])
                return
            if any(s.free for s in fill.shipments) and workflow.patched(RESHIP_OWED_FREE_PATCH):
                for plan in fill.shipments:  # in the store's order, as one call starts them
                    await self._shipments.start([plan], authorization_id, free=plan.free)
            else:
                await self._shipments.start(fill.shipments, authorization_id)
            self.refresh_status()

    async def _authorization_for(self, planned: list[PlannedShipment]) -> str | None:
        """The authorization paid parcels starting now capture on, authorized again when
        the order's is too old (``Payment.authorization_to_ship``); None when the order is
        to be cancelled instead (its hold for a new card timed out, or a cancel came)."""
        paid = [plan for plan in planned if not plan.free]
        if not paid:
            return self._payment.authorization_id or ""
        locale = self._view.customer.locale
        in_flight = any(
            s.status not in DONE and s.shipment_id not in self._shipments.free
            for s in self._shipments.by_id.values()
        )
        charged = self._shipments.charged()
        got = await self._payment.authorization_to_ship(
            paid[0].shipment_id,
            paid[0].warehouse_id,
            in_flight,
            None if charged is None else format_money(charged, self._view.currency, locale),
            shipped=bool(self._shipments.shipped()),
        )
        if isinstance(got, CancelOrder):
            self._track.note(f"Cancelling what has not shipped: {got.reason}")
            self._state.cancel = self._state.cancel or got
            return None
        return None if self._state.cancel is not None else got

    def check_reroute(self, request: RerouteShipment) -> None:
        """Raises ``ApplicationError`` ``UnknownShipment`` or ``NotReroutable`` (not picking
        or held, the same warehouse, or the order is being cancelled)."""
        shipment = self._shipments.known(request.shipment_id)
        if shipment.status not in (ShipmentStatus.PICKING, ShipmentStatus.HELD):
            raise ApplicationError(
                f"only a shipment that is picking or held can be re-routed; it is "
                f"{shipment.status}",
                type="NotReroutable",
            )
        if request.warehouse_id == shipment.warehouse_id:
            raise ApplicationError("that is the warehouse it ships from", type="NotReroutable")
        self._state.refuse_closing(self._view.status, "NotReroutable")

    async def reroute(self, request: RerouteShipment) -> None:
        """Stop the shipment, release its reservation and allocate its lines again without
        its warehouse (or only at ``request.warehouse_id``); what none has is owed, and the
        customer gets the backorder email for it.

        Raises ``ApplicationError(type="NotReroutable")`` when it shipped meanwhile.
        """
        old = self._shipments.by_id[request.shipment_id]
        # Worded as every other intervention, ``action`` set (history is state, no command).
        self._track.ops_note(
            request.by,
            "reroute",
            f"{request.reason} ({old.shipment_id} away from {old.warehouse_id})",
        )
        with self._state.replacing_parcel(workflow.patched(REROUTE_STATUS_HELD_PATCH)):
            await self._shipments.stop(f"re-routed: {request.reason}", only=old.shipment_id)
            if old.status != ShipmentStatus.CANCELLED:
                raise ApplicationError(
                    f"{old.shipment_id} shipped before it could be re-routed", type="NotReroutable"
                )
            await self._stock.release(old.shipment_id)
            # A reship's parcel stays free wherever it goes, and so do the units it owes.
            free = old.shipment_id in self._shipments.free and workflow.patched(REROUTE_FREE_PATCH)
            decision = await self._stock.allocate(
                self._shipments.next_no,
                old.lines,
                free=free,
                exclude_warehouses=[] if request.warehouse_id else [old.warehouse_id],
                only_warehouses=[request.warehouse_id] if request.warehouse_id else [],
            )
            self._track.note(views.allocation_note(decision))
            await self._shipments.start(
                decision.shipments, self._payment.authorization_id or "", free=free
            )
            # Merged per SKU: a re-routed line may add to units the order owes already.
            self._stock.owe_more(decision.backordered, free=free)
        self.refresh_status()
        # Units no warehouse could take are a backorder like any other: the customer hears.
        if decision.backordered and workflow.patched(REROUTE_BACKORDER_EMAIL_PATCH):
            key = f"{self._inp.order_id}:backordered:reroute:{self._stock.reroutes}"
            await self._email(key, "order_backordered")
            self._view.backorder_emailed = True
