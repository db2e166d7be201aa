"""Frozen 0.1 code (see ``workflows/legacy/__init__.py``).

ShipmentWorkflow: one parcel from one warehouse, from pick to delivery.

Child of ``OrderWorkflow`` (workflow id ``shipment-<shipment_id>``). It waits
for the warehouse's pick and pack confirmations (updates, so the caller hears
"pack before pick" as an error), buys the cheapest label for the requested
speed, turns the reservation into shipped stock, captures the payment for its
own lines, and follows the carrier's tracking events until delivery. Every
change is written to the read model and reported to the parent order.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.carrier import CarrierActivities
    from activities.credit import CreditActivities
    from activities.inventory import InventoryActivities
    from activities.payments import PaymentActivities
    from oms import search_attributes as sa
    from oms.domain.money import format_money
    from oms.domain.shipping import choose_rate
    from oms.models.carrier import LabelRequest, RateRequest, VoidLabelRequest
    from oms.models.common import HistoryEntry, SkuQuantity
    from oms.models.credit import ConsumeCredit
    from oms.models.inventory import ConsumeRequest
    from oms.models.notifications import EmailRequest
    from oms.models.ops import OpsNote
    from oms.models.payments import CaptureRequest
    from oms.models.shipments import (
        CancelShipment,
        ConfirmPack,
        ConfirmPick,
        ShipmentInput,
        ShipmentProgress,
        ShipmentStatus,
        ShipmentView,
        TrackingEvent,
    )
    from oms.queues import CARRIER_QUEUE, EMAIL_QUEUE, INVENTORY_QUEUE, PAYMENTS_QUEUE
    from oms.views import shipments as views
    from workflows import policies
    from workflows.legacy import read_model
    from workflows.legacy.common import send_email

# Name of the parent's signal; a string, because the order module imports this one.
ORDER_PROGRESS_SIGNAL = "shipment_progress"


# Who a shipment in each status waits for (the OmsWaitingFor search attribute).
_WAITING_FOR = {
    ShipmentStatus.PICKING: "warehouse",
    ShipmentStatus.PACKED: "carrier",
    ShipmentStatus.HELD: "operations",
    ShipmentStatus.SHIPPED: "carrier",
    ShipmentStatus.IN_TRANSIT: "carrier",
    ShipmentStatus.OUT_FOR_DELIVERY: "carrier",
    ShipmentStatus.EXCEPTION: "carrier",
}


def _is_address_error(err: ActivityError) -> bool:
    cause = err.cause
    return isinstance(cause, ApplicationError) and cause.type == "InvalidAddress"


class ShipmentV1:
    """Pick -> pack -> ship -> track -> delivered, for one shipment."""

    def __init__(self, inp: ShipmentInput) -> None:
        self._inp = inp
        self._view = ShipmentView(
            shipment_id=inp.shipment_id,
            order_id=inp.order_id,
            warehouse_id=inp.warehouse_id,
            status=ShipmentStatus.PICKING,
            lines=inp.lines,
            ship_to=inp.ship_to,
            updated_at=workflow.now(),
        )
        self._picked: ConfirmPick | None = None
        self._packed: ConfirmPack | None = None
        self._cancel: CancelShipment | None = None
        self._events: list[TrackingEvent] = []
        self._shipping_started = False

    def install(self) -> None:
        """Serve this run's signals, queries and updates with the legacy handlers."""
        workflow.set_query_handler("state", self.state)
        workflow.set_update_handler(
            "confirm_pick", self.confirm_pick, validator=self._validate_pick
        )
        workflow.set_update_handler(
            "confirm_pack", self.confirm_pack, validator=self._validate_pack
        )
        workflow.set_signal_handler("tracking_event", self.tracking_event)
        workflow.set_signal_handler("ops_note", self.ops_note)
        workflow.set_signal_handler("cancel", self.cancel)

    # --- queries, updates, signals ---------------------------------------------------

    def state(self) -> ShipmentView:
        return self._view

    async def confirm_pick(self, pick: ConfirmPick) -> ShipmentView:
        """The warehouse picked every line; recorded with who confirmed it."""
        self._picked = pick
        # The view changes in the run, after the update's task committed: a local write
        # in this same task (the first "picking" one, say) must not carry the pick out.
        return self._view.model_copy(update={"picked_by": pick.picked_by})

    def _validate_pick(self, pick: ConfirmPick) -> None:
        if self._cancel is not None or self._view.status == ShipmentStatus.CANCELLED:
            raise ApplicationError("shipment is cancelled", type="ShipmentCancelled")
        if self._picked is not None:
            raise ApplicationError("shipment is already picked", type="AlreadyPicked")

    async def confirm_pack(self, pack: ConfirmPack) -> ShipmentView:
        """The warehouse packed the picked lines into ``pack.packages``."""
        self._packed = pack
        await workflow.wait_condition(lambda: self._view.status != ShipmentStatus.PICKING)
        return self._view

    def _validate_pack(self, pack: ConfirmPack) -> None:
        if self._cancel is not None or self._view.status == ShipmentStatus.CANCELLED:
            raise ApplicationError("shipment is cancelled", type="ShipmentCancelled")
        if self._picked is None:
            raise ApplicationError(
                "shipment must be picked before it is packed", type="PackBeforePick"
            )
        if self._packed is not None:
            raise ApplicationError("shipment is already packed", type="AlreadyPacked")

    def tracking_event(self, event: TrackingEvent) -> None:
        self._events.append(event)

    def ops_note(self, note: OpsNote) -> None:
        """An operator's intervention, kept in the shipment's history with who and why."""
        self._note(f"Operations ({note.by}): {note.action}: {note.reason}")

    def cancel(self, request: CancelShipment) -> None:
        """Asked by the order; honoured until the label is bought, ignored after."""
        if not self._shipping_started:
            self._cancel = request

    # --- the run -------------------------------------------------------------------

    async def run(self, inp: ShipmentInput) -> ShipmentView:
        workflow.upsert_search_attributes(
            [sa.KIND.value_set("shipment"), sa.WAREHOUSE.value_set(inp.warehouse_id)]
        )
        await self._change(ShipmentStatus.PICKING, f"Awaiting pick at {inp.warehouse_id}")
        if not await self._await_pick():
            return await self._cancelled()
        await read_model.after_update("pick confirmed")
        if self._picked is not None:
            self._view.picked_by = self._picked.picked_by
        self._note(f"Picked by {self._view.picked_by}")
        await self._record()
        await workflow.wait_condition(
            lambda: self._packed is not None or self._cancel is not None,
            timeout_summary="waiting for the warehouse to pack",
        )
        if self._cancel is not None or self._packed is None:
            return await self._cancelled()
        await read_model.after_update("pack confirmed")
        self._view.packages = self._packed.packages
        await self._change(
            ShipmentStatus.PACKED, f"Packed in {len(self._packed.packages)} parcel(s)"
        )
        try:
            await self._ship()
        except ActivityError as err:
            if not _is_address_error(err):
                raise
            return await self._address_refused(err)
        await self._follow_tracking()
        return self._view

    async def _await_pick(self) -> bool:
        """Wait for the pick; after the SLA, tell operations once and keep waiting."""
        picked_or_cancelled = lambda: self._picked is not None or self._cancel is not None  # noqa: E731
        try:
            await workflow.wait_condition(
                picked_or_cancelled,
                timeout=timedelta(seconds=self._inp.pick_sla_s),
                timeout_summary=f"pick SLA ({self._inp.pick_sla_s} s)",
            )
        except TimeoutError:
            self._view.pick_late = True
            await self._publish(f"Pick is late: not confirmed within {self._inp.pick_sla_s} s")
            await self._email(
                f"{self._inp.shipment_id}:pick_late",
                self._inp.ops_email,
                "pick_late",
                {
                    "since": self._view.history[0].at.isoformat() if self._view.history else "",
                    "sla": f"{self._inp.pick_sla_s} s",
                },
                locale="en",
            )
            await workflow.wait_condition(picked_or_cancelled)
        return self._cancel is None

    async def _ship(self) -> None:
        inp = self._inp
        prefix = inp.task_queue_prefix
        quote = await workflow.execute_activity_method(
            CarrierActivities.quote_rates,
            RateRequest(ship_from=inp.ship_from, ship_to=inp.ship_to, packages=self._view.packages),
            **policies.CARRIER.kwargs(prefix + CARRIER_QUEUE, "carrier rates"),
        )
        try:
            rate = choose_rate(quote.rates, inp.shipping_speed)
        except Exception as err:  # a domain error, not a bug: no service fits the request
            raise ApplicationError(str(err), type="NoRateAvailable", non_retryable=True) from err
        self._shipping_started = True
        label = await workflow.execute_activity_method(
            CarrierActivities.buy_label,
            LabelRequest(
                idempotency_key=f"{inp.shipment_id}:label",
                shipment_id=inp.shipment_id,
                service=rate.service,
                ship_from=inp.ship_from,
                ship_to=inp.ship_to,
                packages=self._view.packages,
            ),
            **policies.CARRIER.kwargs(prefix + CARRIER_QUEUE, f"buy {rate.service} label"),
        )
        self._view.carrier, self._view.service = label.carrier, label.service
        self._view.tracking_number, self._view.label_id = label.tracking_number, label.label_id
        # The carrier may post its first scan at once: the webhook finds the shipment by
        # tracking number in the read model, so write it before anything else happens.
        self._note(f"Label {label.label_id} bought: {label.service}, {label.tracking_number}")
        await self._record()
        await workflow.execute_activity_method(
            InventoryActivities.consume,
            ConsumeRequest(
                shipment_id=inp.shipment_id,
                order_id=inp.order_id,
                warehouse_id=inp.warehouse_id,
                lines=[SkuQuantity(sku=li.sku, quantity=li.quantity) for li in inp.lines],
            ),
            **policies.STORE.kwargs(prefix + INVENTORY_QUEUE, "stock leaves the warehouse"),
        )
        amount = sum((li.unit_price * li.quantity for li in inp.lines), Decimal("0.00"))
        if inp.payment_method == "invoice":
            await workflow.execute_activity_method(
                CreditActivities.consume,
                ConsumeCredit(
                    key=f"{inp.shipment_id}:invoice",
                    order_id=inp.order_id,
                    shipment_id=inp.shipment_id,
                    amount=amount,
                ),
                **policies.PAYMENTS.kwargs(
                    prefix + PAYMENTS_QUEUE, f"invoice {amount} {inp.currency} on credit"
                ),
            )
            self._view.captured = amount
        elif inp.payment_method == "exchange":
            self._view.captured = Decimal("0.00")  # a return's replacement: no charge
        else:
            capture = await workflow.execute_activity_method(
                PaymentActivities.capture,
                CaptureRequest(
                    idempotency_key=f"{inp.shipment_id}:capture",
                    authorization_id=inp.authorization_id,
                    amount=amount,
                    currency=inp.currency,
                ),
                **policies.PAYMENTS.kwargs(
                    prefix + PAYMENTS_QUEUE, f"capture {amount} {inp.currency}"
                ),
            )
            self._view.captured = capture.amount
        await self._change(
            ShipmentStatus.SHIPPED,
            f"Shipped with {label.carrier} {label.service}, tracking {label.tracking_number}",
        )
        await self._email(
            f"{inp.shipment_id}:shipped",
            str(inp.customer.email),
            "shipment_shipped",
            {
                "carrier": label.carrier,
                "service": label.service,
                "tracking_number": label.tracking_number,
                "amount": format_money(amount, inp.currency, inp.customer.locale),
            },
        )

    async def _follow_tracking(self) -> None:
        while self._view.status != ShipmentStatus.DELIVERED:
            await workflow.wait_condition(
                lambda: bool(self._events), timeout_summary="waiting for carrier tracking"
            )
            event = self._events.pop(0)
            await self._change(ShipmentStatus(event.status), views.carrier_note(event))
        await self._email(
            f"{self._inp.shipment_id}:delivered",
            str(self._inp.customer.email),
            "shipment_delivered",
            {"tracking_number": self._view.tracking_number or ""},
        )

    async def _address_refused(self, err: ActivityError) -> ShipmentView:
        """The carrier refused the address: park visibly for a person; only cancel ends it."""
        self._shipping_started = False
        await self._change(ShipmentStatus.HELD, f"Carrier refused the address: {err.cause}")
        await self._email(
            f"{self._inp.shipment_id}:address_refused",
            self._inp.ops_email,
            "ops_alert",
            {"problem": f"The carrier refused the address of shipment {self._inp.shipment_id}"},
            locale="en",
        )
        await workflow.wait_condition(
            lambda: self._cancel is not None, timeout_summary="waiting for an operator to cancel"
        )
        return await self._cancelled()

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
        await self._change(ShipmentStatus.CANCELLED, f"Cancelled: {reason}".strip())
        return self._view

    # --- helpers -------------------------------------------------------------------

    def _note(self, note: str) -> None:
        self._view.history.append(
            HistoryEntry(at=workflow.now(), status=str(self._view.status), note=note)
        )

    async def _change(self, status: ShipmentStatus, note: str) -> None:
        self._view.status = status
        now = workflow.now()
        updates: list[SearchAttributeUpdate[Any]] = [
            sa.STAGE.value_set(f"shipment_{status}"),
            sa.WAITING_SINCE.value_set(now),
            sa.WAITING_FOR.value_set(_WAITING_FOR.get(status, "nobody")),
        ]
        deadline_s = {
            ShipmentStatus.PICKING: self._inp.pick_sla_s,
            ShipmentStatus.PACKED: self._inp.step_deadline_s,  # rates, label, capture: automatic
            ShipmentStatus.HELD: 0,  # waits for a person: overdue at once
            ShipmentStatus.SHIPPED: self._inp.delivery_deadline_s,
            ShipmentStatus.IN_TRANSIT: self._inp.delivery_deadline_s,
            ShipmentStatus.OUT_FOR_DELIVERY: self._inp.delivery_deadline_s,
            ShipmentStatus.EXCEPTION: self._inp.delivery_deadline_s,
        }.get(status)
        if deadline_s is None:
            updates.append(sa.DEADLINE.value_unset())
        else:
            updates.append(sa.DEADLINE.value_set(now + timedelta(seconds=deadline_s)))
        workflow.upsert_search_attributes(updates)
        await self._publish(note)

    async def _publish(self, note: str) -> None:
        """Note the change, show it in the UI, write the read model and tell the order."""
        self._note(note)
        view = self._view
        late = (
            " · **pick late**" if view.pick_late and view.status == ShipmentStatus.PICKING else ""
        )
        workflow.set_current_details(
            f"**Shipment {self._inp.shipment_id}** of order {self._inp.order_id}\n\n"
            f"- status: `{view.status}`{late}\n- warehouse: {self._inp.warehouse_id}\n"
            f"- picked by: {view.picked_by or '-'}\n"
            f"- tracking: {view.carrier or ''} {view.tracking_number or '-'}\n- last: {note}"
        )
        await self._record()
        parent = workflow.info().parent
        if parent is not None:
            await workflow.get_external_workflow_handle(parent.workflow_id).signal(
                ORDER_PROGRESS_SIGNAL, ShipmentProgress(shipment=self._view, note=note)
            )

    async def _record(self) -> None:
        self._view.version = read_model.stamp(self._view.version)
        self._view.updated_at = workflow.now()
        await read_model.record_shipment(
            self._view, self._inp.task_queue_prefix + INVENTORY_QUEUE, f"record {self._view.status}"
        )

    async def _email(
        self, key: str, to: str, template: str, extra: dict[str, str], locale: str | None = None
    ) -> None:
        inp = self._inp
        request = EmailRequest(
            key=key,
            to=to,
            locale=locale or inp.customer.locale,
            template=template,
            context=views.email_context(inp, **extra),
        )
        if (err := await send_email(request, inp.task_queue_prefix + EMAIL_QUEUE)) is not None:
            self._note(f"Email {template} not sent: {err.cause or err}")
