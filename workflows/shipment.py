"""ShipmentWorkflow: one parcel from one warehouse, from pick to delivery.

Child of ``OrderWorkflow`` (workflow id ``shipment-<shipment_id>``), started with its
picking view already in the read model and its search attributes already set. It waits
for the warehouse's pick and pack (updates, so the caller hears "pack before pick" as an
error), buys the cheapest label for the requested speed, turns the reservation into
shipped stock, captures the payment for its own lines (each exactly once on its own
key), and follows the carrier's tracking events until delivery. The
order hears only what it acts on: ``shipped`` and ``held`` by signal, delivered or
cancelled by the shipment's result.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.carrier import CarrierActivities
    from activities.orders import ReadModelActivities
    from oms.domain import lifecycle
    from oms.domain.order_changes import check_pick, cut_lines, short_of
    from oms.domain.shipping import (
        ADDRESS_REFUSED,
        COUNTRY_UNSERVED,
        Hold,
        choose_rate,
        held_for,
    )
    from oms.ids import shipment_workflow_id
    from oms.models.carrier import LabelRequest, RateRequest, VoidLabelRequest
    from oms.models.common import Address
    from oms.models.ops import OpsNote
    from oms.models.order_changes import (
        ClaimShipment,
        FreezeShipment,
        ShipmentTrimmed,
        TrimShipment,
    )
    from oms.models.shipments import (
        CancelShipment,
        ConfirmPack,
        ConfirmPick,
        CorrectAddress,
        ShipmentInput,
        ShipmentMilestone,
        ShipmentStatus,
        ShipmentView,
        TrackingEvent,
    )
    from oms.queues import CARRIER_QUEUE
    from oms.views import shipments as views
    from oms.views.common import span
    from workflows import policies
    from workflows.legacy.shipment import ShipmentV1
    from workflows.shipment_parcel import Parcel, refusal
    from workflows.tracker import Tracker

__all__ = ["MILESTONE_SIGNAL", "ShipmentWorkflow", "shipment_workflow_id"]

# The order's signals; names, because the order module imports this one.
MILESTONE_SIGNAL = "shipment_milestone"
TRIMMED_SIGNAL = "shipment_trimmed"
SHORT_SIGNAL = "shipment_short"
# A charge refused for good after the parcel left: ship, record it and tell operations
# (before, the shipment and its order failed). Asked only on that refusal.
CHARGE_REFUSED_PATCH = "shipment-charge-refused-ships"
# A held shipment whose refused address a person corrected buys its label again (before,
# only a cancel ended the hold). Asked only when a correction comes.
ADDRESS_CORRECTED_PATCH = "shipment-address-corrected-relabels"


@workflow.defn(name="ShipmentWorkflow")
class ShipmentWorkflow:
    """Pick -> pack -> ship -> track -> delivered, for one shipment."""

    @workflow.init
    def __init__(self, inp: ShipmentInput) -> None:
        # A shipment of a 0.1 order reports every step to it: that order runs the 0.1 code.
        self._legacy = ShipmentV1(inp) if inp.reports == "progress" else None
        if self._legacy is not None:
            self._legacy.install()
            return
        self._inp = inp
        self._view = views.placeholder(inp, workflow.now())
        self._track = Tracker(
            lifecycle.SHIPMENT,
            self._view,
            limits={
                lifecycle.PICK: inp.pick_sla_s,
                lifecycle.STEP: inp.step_deadline_s,
                lifecycle.DELIVERY: inp.delivery_deadline_s,
            },
            details=views.details,
            record=policies.recorder(ReadModelActivities.record_shipment),
            queue_prefix=inp.task_queue_prefix,
        )
        self._picked: ConfirmPick | None = None
        self._packed: ConfirmPack | None = None
        self._cancel: CancelShipment | None = None
        self._events: list[TrackingEvent] = []
        self._shipping_started = False
        self._frozen: str | None = None  # the order is being edited: no pick meanwhile
        self._claim: ClaimShipment | None = None  # lost or damaged in transit
        self._held: Hold | None = None  # why the shipment waits for a person
        self._correction: CorrectAddress | None = None  # a held address, corrected
        self._corrections = 0  # addresses corrected: each buys its label on its own key
        self._parcel = Parcel(inp, self._view, self._track)

    # --- queries, updates, signals ---------------------------------------------------

    @workflow.query
    def state(self) -> ShipmentView:
        return self._view

    @workflow.update
    async def confirm_pick(self, pick: ConfirmPick) -> ShipmentView:
        """The warehouse picked every line (or, with ``pick.lines``, only those units: the
        parcel ships them, the missing ones leave stock and the order backorders or cancels
        them by its policy); recorded with who confirmed it."""
        self._track.update_accepted()
        self._picked = pick
        self._view.picked_by = pick.picked_by
        missing = short_of(self._view.lines, pick.lines) if pick.lines is not None else []
        if not missing:
            self._track.note(f"Picked by {pick.picked_by}", by=pick.picked_by)
            return self._track.for_caller()
        await self._signal_order(SHORT_SIGNAL, await self._parcel.short_pick(pick, missing))
        return self._track.for_caller()

    @confirm_pick.validator
    def _validate_pick(self, pick: ConfirmPick) -> None:
        if self._cancel is not None or self._view.status == ShipmentStatus.CANCELLED:
            raise ApplicationError("shipment is cancelled", type="ShipmentCancelled")
        if self._picked is not None:
            raise ApplicationError("shipment is already picked", type="AlreadyPicked")
        if self._frozen is not None:
            raise ApplicationError(
                "the order is being edited; pick again in a moment", type="EditInProgress"
            )
        if pick.lines is not None:
            try:
                check_pick(self._view.lines, pick.lines)
            except ValueError as err:
                raise ApplicationError(str(err), type="BadPick") from err

    @workflow.update
    async def confirm_pack(self, pack: ConfirmPack) -> ShipmentView:
        """The warehouse packed the picked lines into ``pack.packages``."""
        self._track.update_accepted()
        self._packed = pack
        await workflow.wait_condition(lambda: self._view.status != ShipmentStatus.PICKING)
        return self._track.for_caller()

    @confirm_pack.validator
    def _validate_pack(self, pack: ConfirmPack) -> None:
        if self._cancel is not None or self._view.status == ShipmentStatus.CANCELLED:
            raise ApplicationError("shipment is cancelled", type="ShipmentCancelled")
        if self._picked is None:
            raise ApplicationError(
                "shipment must be picked before it is packed", type="PackBeforePick"
            )
        if self._packed is not None:
            raise ApplicationError("shipment is already packed", type="AlreadyPacked")

    @workflow.update
    async def correct_address(self, request: CorrectAddress) -> ShipmentView:
        """A person corrected the address: of a shipment held because the carrier refused
        it, which leaves ``held`` (``packed`` again), buys its label to ``request.ship_to``
        and ships (refused again, it is held again, for another correction or a cancel); or
        of one still picking, which ships there when packed. The order ships there from now
        on."""
        self._track.update_accepted()
        if self._view.status == ShipmentStatus.HELD:
            self._correction = request
            await workflow.wait_condition(lambda: self._correction is None)
        else:
            await self._readdress(request, relabel=False)
        return self._track.for_caller()

    @correct_address.validator
    def _validate_correction(self, request: CorrectAddress) -> None:
        if self._legacy is not None:
            raise ApplicationError("a shipment of a 0.1 order cannot", type="NotSupported")
        if self._cancel is not None or self._view.status == ShipmentStatus.CANCELLED:
            raise ApplicationError("shipment is cancelled", type="ShipmentCancelled")
        status = self._view.status
        if status == ShipmentStatus.PICKING and not self._shipping_started:
            if self._frozen is not None:
                raise ApplicationError(
                    "the order is being edited; try again in a moment", type="NotEditableYet"
                )
        elif status != ShipmentStatus.HELD:
            raise ApplicationError(
                f"shipment is {status}: its label is bought or being bought", type="AlreadyShipped"
            )
        elif self._held is COUNTRY_UNSERVED and self._correction is None:
            raise ApplicationError(
                f"the carrier does not serve {self._inp.ship_to.country}, so no address there "
                "ships: cancel the order",
                type="NotSupported",
            )
        elif self._held is not ADDRESS_REFUSED or self._correction is not None:
            raise ApplicationError(
                "the shipment is held for its customs data, not its address", type="NotHeld"
            )
        if request.ship_to.country != self._inp.ship_to.country:
            raise ApplicationError(
                f"the corrected address must be in {self._inp.ship_to.country}, as the order "
                "was priced; cancel the order and place it again to ship to another country",
                type="NotSupported",
            )

    @workflow.signal
    def tracking_event(self, event: TrackingEvent) -> None:
        self._events.append(event)

    @workflow.signal
    def ops_note(self, note: OpsNote) -> None:
        """An operator's intervention, kept in the shipment's history with who and why."""
        self._track.ops_note(note.by, note.action, note.reason)

    @workflow.signal
    async def trim_lines(self, request: TrimShipment) -> None:
        """Asked by the order (part of a line cancelled): take units out of the parcel.
        Honoured until the label is bought or being bought, like a cancel; the order hears
        which (``shipment_trimmed``)."""
        if self._legacy is not None:
            return  # a 0.1 order never asks
        view = self._view
        has = sum(ln.quantity for ln in view.lines if ln.sku == request.sku)
        ok = not self._shipping_started and self._cancel is None and has >= request.quantity
        ok = ok and view.status != ShipmentStatus.CANCELLED
        if ok:
            view.lines = cut_lines(view.lines, request.sku, request.quantity)
            self._track.note(
                f"{request.sku} x{request.quantity} taken out by {request.by}: {request.reason}",
                by=request.by,
                action="cancel_line",
            )
        await self._signal_order(
            TRIMMED_SIGNAL,
            ShipmentTrimmed(key=request.key, shipment_id=view.shipment_id, accepted=ok),
        )

    @workflow.signal
    async def freeze(self, request: FreezeShipment) -> None:
        """Asked by the order before an edit: hold picks until thawed or cancelled; refused
        once picked (the order answers the edit ``TooLateToEdit``)."""
        if self._legacy is not None:
            return  # a 0.1 order never asks
        if request.thaw:
            if self._frozen == request.key:
                self._frozen = None
            return
        ok = self._picked is None and self._cancel is None
        if ok:
            self._frozen = request.key
        await self._signal_order(
            TRIMMED_SIGNAL,
            ShipmentTrimmed(
                key=request.key,
                shipment_id=self._view.shipment_id,
                accepted=ok,
                note="" if ok else f"picked by {self._view.picked_by}",
            ),
        )

    @workflow.signal
    def claim(self, request: ClaimShipment) -> None:
        """Asked by the order: a claim (lost, damaged) settles the parcel; it stops waiting
        for tracking (ends ``claimed``) unless a delivery scan came first."""
        if self._legacy is None and self._claim is None:
            self._claim = request

    @workflow.signal
    def cancel(self, request: CancelShipment) -> None:
        """Asked by the order; honoured until the label is bought, ignored after."""
        if not self._shipping_started:
            self._cancel = request

    # --- the run -------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: ShipmentInput) -> ShipmentView:
        if self._legacy is not None:
            return await self._legacy.run(inp)
        self._track.start()
        if await self._await_pick():
            await workflow.wait_condition(
                lambda: self._packed is not None or self._cancel is not None,
                timeout_summary="waiting for the warehouse to pack",
            )
        if self._cancel is not None or self._packed is None:
            return await self._finish(await self._cancelled())
        self._view.packages = self._packed.packages
        self._track.enter(
            ShipmentStatus.PACKED,
            f"Packed in {len(self._packed.packages)} parcel(s)",
            by=self._packed.packed_by,
        )
        while True:
            try:
                await self._ship()
                break
            except ActivityError as err:
                cause = err.cause
                held = (
                    held_for(cause.type, str(cause))
                    if isinstance(cause, ApplicationError)
                    else None
                )
                if held is None:
                    raise
                corrected = await self._refused(*held)
                if corrected is None:
                    return await self._finish(await self._cancelled())
                await self._readdress(corrected, relabel=True)
        await self._follow_tracking()
        return await self._finish(self._view)

    async def _finish(self, view: ShipmentView) -> ShipmentView:
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._track.close()
        return view

    async def _await_pick(self) -> bool:
        """Wait for the pick; after the SLA, tell operations once and keep waiting."""
        picked_or_cancelled = lambda: self._picked is not None or self._cancel is not None  # noqa: E731
        try:
            await workflow.wait_condition(
                picked_or_cancelled,
                timeout=timedelta(seconds=self._inp.pick_sla_s),
                timeout_summary=f"pick SLA ({span(self._inp.pick_sla_s)})",
            )
        except TimeoutError:
            self._view.pick_late = True
            note = f"Pick late: not picked at {self._inp.warehouse_id} within its SLA"
            self._track.note(f"{note} ({span(self._inp.pick_sla_s)}); operations notified")
            await self._tell_order(ShipmentStatus.PICKING, f"{note}; operations notified")
            since = self._view.history[0].at.isoformat()
            context = views.email_context(self._inp, since=since, sla=span(self._inp.pick_sla_s))
            key = f"{self._inp.shipment_id}:pick_late"
            await self._track.email(key, self._inp.ops_email, "pick_late", context)
            await workflow.wait_condition(picked_or_cancelled)
        return self._cancel is None

    async def _ship(self) -> None:
        inp, q = self._inp, self._inp.task_queue_prefix
        quote = await workflow.execute_activity_method(
            CarrierActivities.quote_rates,
            RateRequest(ship_from=inp.ship_from, ship_to=inp.ship_to, packages=self._view.packages),
            **policies.CARRIER.kwargs(q + CARRIER_QUEUE, "carrier rates"),
        )
        try:
            rate = choose_rate(quote.rates, inp.shipping_speed)
        except Exception as err:  # a domain error, not a bug: no service fits the request
            raise ApplicationError(str(err), type="NoRateAvailable", non_retryable=True) from err
        self._shipping_started = True
        label = await workflow.execute_activity_method(
            CarrierActivities.buy_label,
            LabelRequest(
                idempotency_key=self._key("label"),
                shipment_id=inp.shipment_id,
                service=rate.service,
                ship_from=inp.ship_from,
                ship_to=inp.ship_to,
                packages=self._view.packages,
                # For a customs declaration, when the parcel leaves its customs area.
                order_id=inp.order_id,
                lines=self._view.lines,  # what the parcel carries (a cut or short pick shows)
                currency=inp.currency,
            ),
            **policies.CARRIER.kwargs(q + CARRIER_QUEUE, f"buy {rate.service} label"),
        )
        view = self._view
        view.carrier, view.service = label.carrier, label.service
        view.tracking_number, view.label_id = label.tracking_number, label.label_id
        # Written in this task: the carrier may post its first scan at once.
        self._track.note(f"Label {label.label_id} bought: {label.service}, {label.tracking_number}")
        amount = self._parcel.amount()
        # Stock leaves the building first: a parcel is charged only for goods that left.
        await self._parcel.consume()
        try:
            view.captured = await self._parcel.charge(amount)
        except ActivityError as err:
            reason = refusal(err)
            # The goods are gone whatever the provider says: failing here failed the order.
            if reason is None or not workflow.patched(CHARGE_REFUSED_PATCH):
                raise
            view.captured, view.uncollected, view.capture_error = Decimal("0.00"), amount, reason
            self._track.note(views.uncollected_note(inp, reason), action="payment_not_collected")
        note = f"Shipped with {label.carrier} {label.service}, tracking {label.tracking_number}"
        if view.uncollected is not None:
            note += views.shipped_uncollected(inp, view.uncollected)
        self._track.enter(ShipmentStatus.SHIPPED, note)
        await self._tell_order(ShipmentStatus.SHIPPED, note)
        if view.uncollected is not None and view.capture_error is not None:
            await self._track.email(
                f"{inp.shipment_id}:payment_not_collected",
                inp.ops_email,
                "ops_alert",
                views.uncollected_alert(inp, view.uncollected, view.capture_error),
            )
        context = views.shipped_context(inp, view, amount)
        key = f"{inp.shipment_id}:shipped"
        await self._track.email(
            key, str(inp.customer.email), "shipment_shipped", context, inp.customer.locale
        )

    async def _signal_order(self, signal: str, arg: Any) -> None:
        """Signal the order this shipment is a child of (a shipment started alone has none)."""
        parent = workflow.info().parent
        if parent is not None:
            await workflow.get_external_workflow_handle(parent.workflow_id).signal(signal, arg)

    async def _tell_order(
        self, status: ShipmentStatus, note: str, *, ship_to: Address | None = None
    ) -> None:
        view = self._view
        await self._signal_order(
            MILESTONE_SIGNAL,
            ShipmentMilestone(
                shipment_id=view.shipment_id,
                status=status,
                carrier=view.carrier,
                service=view.service,
                tracking_number=view.tracking_number,
                note=note,
                uncollected=view.uncollected,
                capture_error=view.capture_error,
                ship_to=ship_to,
            ),
        )

    async def _follow_tracking(self) -> None:
        while self._view.status != ShipmentStatus.DELIVERED:
            await workflow.wait_condition(
                lambda: bool(self._events) or self._claim is not None,
                timeout_summary="waiting for carrier tracking",
            )
            if not self._events and self._claim is not None:
                # Scans that came before the claim were applied first: a delivery wins.
                claim, note = self._claim, views.claim_note(self._claim)
                self._track.enter(ShipmentStatus.CLAIMED, note, by=claim.by, action="claim")
                return
            event = self._events.pop(0)
            note = views.carrier_note(event)
            self._track.enter(ShipmentStatus(event.status), note, by="carrier")
        inp = self._inp
        context = views.email_context(inp, tracking_number=self._view.tracking_number or "")
        await self._track.email(
            f"{inp.shipment_id}:delivered",
            str(inp.customer.email),
            "shipment_delivered",
            context,
            inp.customer.locale,
        )

    def _key(self, what: str) -> str:
        """The business key of ``what`` for the shipment's current address: the first as
        ever, ``...:<n+1>`` after the n-th correction (a new label, a new alert)."""
        key = f"{self._inp.shipment_id}:{what}"
        return f"{key}:{self._corrections + 1}" if self._corrections else key

    async def _refused(self, note: str, hold: Hold) -> CorrectAddress | None:
        """The carrier refused the address, or customs data is missing: park visibly for a
        person. The alert says which, and what fixes it. Ends with a cancel (None) or, for a
        refused address, a person's correction of it (returned)."""
        self._shipping_started = False
        self._held = hold
        self._track.enter(ShipmentStatus.HELD, note)
        await self._tell_order(ShipmentStatus.HELD, note)
        inp = self._inp
        # Its key, context and wording are the activity's input: no command changed.
        await self._track.email(
            self._key(hold.key),
            inp.ops_email,
            "ops_alert",
            views.email_context(
                inp,
                problem=f"{hold.problem} shipment {inp.shipment_id}",
                detail=note.removeprefix(f"{hold.note}: "),
                remedy=hold.remedy.format(order_id=inp.order_id, shipment_id=inp.shipment_id),
            ),
        )
        await workflow.wait_condition(
            lambda: self._cancel is not None or self._correction is not None,
            timeout_summary="waiting for an operator to correct the address or cancel",
        )
        if self._cancel is not None:
            self._correction = None  # its update answers with the cancelled shipment
            return None
        return self._correction

    async def _readdress(self, request: CorrectAddress, *, relabel: bool) -> None:
        """Ship to the corrected address, the order told (it ships there from now on).
        ``relabel``: the carrier refused the old one; back to ``packed``, the label bought
        anew by the caller, on keys of its own."""
        workflow.patched(ADDRESS_CORRECTED_PATCH)
        ship_to: Address = request.ship_to
        self._inp.ship_to = self._view.ship_to = ship_to
        # Who and why, never the address: history notes travel in clear.
        note = f"Address corrected by {request.by}: {request.reason}"
        if relabel:
            self._corrections += 1
            self._held = None
            self._track.enter(ShipmentStatus.PACKED, note, by=request.by, action="correct_address")
        else:
            self._track.note(note, by=request.by, action="correct_address")
        await self._tell_order(self._view.status, note, ship_to=ship_to)
        self._correction = None

    async def _cancelled(self) -> ShipmentView:
        """Stop before shipping; the order releases reservations and voids the payment."""
        if self._view.label_id:
            await workflow.execute_activity_method(
                CarrierActivities.void_label,
                VoidLabelRequest(shipment_id=self._inp.shipment_id, label_id=self._view.label_id),
                **policies.CARRIER.kwargs(
                    self._inp.task_queue_prefix + CARRIER_QUEUE, "void label"
                ),
            )
        reason = self._cancel.reason if self._cancel else ""
        self._track.enter(ShipmentStatus.CANCELLED, f"Cancelled: {reason}".strip())
        return self._view
