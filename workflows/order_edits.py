"""Editing an order before its pick, for ``OrderWorkflow`` (update ``edit``).

Workflow code (no I/O). An edit changes lines (catalogue prices for added SKUs, from the
API), the address and the shipping speed, all or nothing. An edit to another country or
speed of an order placed with totals carries the API's pricing there
(``EditOrder.pricing``): the order is re-priced with it (``oms.domain.order_changes.repriced``)
and priced so from then on (its input's totals, which its parcels, later changes and a
continued run read):

1. every shipment is **frozen** (signal ``freeze``, answered by ``shipment_trimmed``): it
   refuses picks until thawed or cancelled, and refuses the freeze once picked, which
   makes the race against a pick that starts at the same moment the shipment's to decide;
   a refusal thaws the others and answers ``TooLateToEdit`` naming the shipment;
2. a raised total is authorized anew on the order's card (``<order>:edit-authorize:<n>``);
   a decline thaws the shipments and answers ``PaymentDeclined`` (402), nothing changed;
3. the frozen shipments are cancelled and the new lines allocated in one store
   transaction (``inventory.reallocate`` on ``<order>:edit:<n>``), new shipments started
   to the new address at the new speed;
4. the old authorization is voided when a new one replaced it, or lowered by the
   difference (``<order>:edit-release:<n>``); one ``order_changed`` email tells the
   customer.

Before allocation (a held order) only the order's own lines, address and money change:
the allocation that follows uses them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.inventory import InventoryActivities
    from oms.domain.order_changes import (
        ChangeRefused,
        change_phrase,
        changed_total,
        changed_totals,
        edit_change_list,
        edited_lines,
        repriced,
    )
    from oms.ids import shipment_workflow_id
    from oms.models.common import SkuQuantity
    from oms.models.inventory import PlannedShipment
    from oms.models.money import OrderTotals
    from oms.models.order_changes import EditOrder, FreezeShipment, OrderEdit, Reallocate
    from oms.models.orders import OrderInput, OrderLine, OrderView, ShipmentSummary
    from oms.models.shipments import SHIPPED_STATES, ShipmentStatus
    from oms.queues import INVENTORY_QUEUE
    from oms.views import orders as views
    from workflows import policies
    from workflows.order_lines import LineCancels
    from workflows.order_payment import Payment
    from workflows.order_shipments import DONE, Shipments
    from workflows.order_stock import Stock
    from workflows.tracker import Tracker

FREEZE_SIGNAL = "freeze"
Email = Callable[..., Awaitable[None]]


class Edits:
    """The order's edits before the pick."""

    def __init__(
        self,
        inp: OrderInput,
        view: OrderView,
        track: Tracker[OrderView],
        parts: tuple[Shipments, Stock, Payment, LineCancels],
        email: Email,
    ) -> None:
        self._inp, self._view, self._track, self._email = inp, view, track, email
        self._shipments, self._stock, self._payment, self._lines = parts
        self._count = 0

    def counters(self) -> dict[str, int]:
        """The key counter a continued run carries on."""
        return {"edits": self._count}

    def restore(self, counters: dict[str, int]) -> None:
        self._count = counters.get("edits", 0)

    def check(self, request: EditOrder) -> tuple[list[OrderLine], OrderTotals | None]:
        """The order's lines and totals (None for an order placed without them) after
        ``request``; ``ApplicationError`` naming why not (``TooLateToEdit`` once a shipment
        is past its pick as far as the order knows, ``NotEditableYet`` when the API priced
        another destination or speed than the edit now gives: the order changed meanwhile)."""
        for summary in self._view.shipments:
            if summary.status not in (ShipmentStatus.PICKING, ShipmentStatus.CANCELLED):
                raise _too_late(summary, f"is {summary.status}", request.ship_to is not None)
        try:
            lines = edited_lines(self._view.lines, request.lines, request.prices, request.tax_rates)
        except ChangeRefused as err:
            raise ApplicationError(str(err), type=err.kind) from err
        lines, totals = self._priced(request, lines)
        after = totals.total if totals is not None else changed_total(lines)
        if self._inp.payment.method == "invoice" and after > self._view.total:
            raise ApplicationError(
                "an invoice order's total can only go down by an edit", type="NotSupported"
            )
        return lines, totals

    def _priced(
        self, request: EditOrder, lines: list[OrderLine]
    ) -> tuple[list[OrderLine], OrderTotals | None]:
        """``lines`` and the order's totals for them: re-priced for the new destination or
        speed when the API priced one (``request.pricing``), else with the order's pricing
        as it stands; an order placed without totals has none."""
        inp, view, pricing = self._inp, self._view, request.pricing
        if inp.totals is None:
            return lines, None
        if pricing is None:
            return lines, changed_totals(lines, inp.totals)
        country = (request.ship_to or view.ship_to).country
        speed = request.shipping_speed or view.shipping_speed
        if (pricing.country, pricing.shipping_speed) != (country, speed):
            raise ApplicationError(
                f"the edit was priced for {pricing.shipping_speed} shipping to "
                f"{pricing.country}, but the order would ship {speed} to {country} (it changed "
                "meanwhile); try again",
                type="NotEditableYet",
            )
        return repriced(lines, inp.totals, pricing, invoice=inp.payment.method == "invoice")

    async def edit(self, request: EditOrder, allocated: bool) -> None:
        """Apply ``request`` (see the module); raises ``ApplicationError`` ``TooLateToEdit``,
        ``PaymentDeclined``, ``NothingChanged`` and what :meth:`check` raises, each with the
        order unchanged."""
        view, inp = self._view, self._inp
        lines, totals = self.check(request)
        ship_to = request.ship_to or view.ship_to
        speed = request.shipping_speed or view.shipping_speed
        change_list = edit_change_list(
            view.lines, lines, (view.ship_to, ship_to), (view.shipping_speed, speed)
        )
        changes = [change_phrase(change) for change in change_list]
        if not changes:
            raise ApplicationError("the edit changes nothing", type="NothingChanged")
        self._count += 1
        n = self._count
        key = f"{inp.order_id}:edit:{n}"
        live = [s for s in view.shipments if s.status != ShipmentStatus.CANCELLED]
        await self._freeze(live, key, request.ship_to is not None)
        before = view.total
        after = totals.total if totals is not None else changed_total(lines)
        try:
            new_auth = await self._authorize(after, n) if after > before else None
        except ApplicationError:
            await self._thaw(live, key)
            raise
        edit = OrderEdit(
            at=workflow.now(),
            by=request.by,
            reason=request.reason,
            changes=changes,
            total_before=before,
            total_after=after,
            authorization_id=new_auth,
        )
        if live:
            await self._shipments.stop(f"order edited: {request.reason}")
        view.lines, view.total, view.ship_to, view.shipping_speed = lines, after, ship_to, speed
        if totals is not None:
            # Subtotal, shipping, VAT per rate and total as the order's pricing computes them.
            views.show_totals(view, totals)
            if request.pricing is not None:
                # Re-priced for a new destination or speed: what prices the order from now
                # on (its parcels' shipping and VAT, later edits, line cancellations, claims,
                # and a continued run, which carries its input).
                inp.totals = totals
        planned = await self._reallocate(key) if allocated else []
        edit.released = await self._settle_money(new_auth, before - after, n)
        if planned:
            await self._shipments.start(planned, self._payment.authorization_id or "")
        view.edits.append(edit)
        self._track.note(views.edit_note(edit, inp.currency), by=request.by, action="edit")
        self._shipments.changed = True
        await self._email(
            f"{inp.order_id}:changed:{n}",
            "order_changed",
            changes=changes,
            change_list=change_list,
            reason=request.reason,
        )

    async def _freeze(self, live: list[ShipmentSummary], key: str, readdress: bool) -> None:
        """Freeze every live shipment, or thaw those frozen and raise ``TooLateToEdit``
        (``readdress``: the edit gives a new address, which the answer says where else to
        give)."""
        frozen: list[ShipmentSummary] = []
        for summary in live:
            if not await self._ask(summary, FreezeShipment(key=key)):
                await self._thaw(frozen, key)
                raise _too_late(summary, "was picked", readdress)
            frozen.append(summary)

    async def _ask(self, summary: ShipmentSummary, request: FreezeShipment) -> bool:
        try:
            await workflow.get_external_workflow_handle(
                shipment_workflow_id(summary.shipment_id)
            ).signal(FREEZE_SIGNAL, request)
        except Exception:  # the shipment ended meanwhile
            return False
        answer = await self._lines.answer(request.key, summary)
        return answer is not None and answer.accepted

    async def _thaw(self, frozen: list[ShipmentSummary], key: str) -> None:
        for summary in frozen:
            if summary.status in DONE:
                continue
            try:
                await workflow.get_external_workflow_handle(
                    shipment_workflow_id(summary.shipment_id)
                ).signal(FREEZE_SIGNAL, FreezeShipment(key=key, thaw=True))
            except Exception:  # ended meanwhile: nothing to thaw
                workflow.logger.warning("could not thaw %s", summary.shipment_id)

    async def _authorize(self, total: Decimal, n: int) -> str | None:
        """A new authorization of the raised total on the order's card; raises
        ``ApplicationError(type="PaymentDeclined")`` when declined."""
        inp, payment = self._inp, self._payment
        if inp.payment.method != "card" or payment.authorization_id is None:
            return None  # nothing authorized to replace (an exchange, a renewal's own)
        auth = await payment.calls.authorize(
            f"{inp.order_id}:edit-authorize:{n}", total, payment.token
        )
        if auth.status != "authorized":
            raise ApplicationError(
                f"the card was declined for the new total {total} {inp.currency} "
                f"({auth.decline_reason or 'no reason given'}); the order is unchanged",
                type="PaymentDeclined",
            )
        return auth.authorization_id

    async def _reallocate(self, key: str) -> list[PlannedShipment]:
        view, inp = self._view, self._inp
        result = await workflow.execute_activity_method(
            InventoryActivities.reallocate,
            Reallocate(
                key=key,
                order_id=inp.order_id,
                lines=[SkuQuantity(sku=ln.sku, quantity=ln.quantity) for ln in view.lines],
                postal_code=view.ship_to.postal_code,
                city=view.ship_to.city,
                country=view.ship_to.country,
                placed_at=inp.placed_at,
                first_shipment_no=self._shipments.next_no,
            ),
            **policies.STORE.kwargs(self._q(INVENTORY_QUEUE), "re-allocate the edited order"),
        )
        decision = result.decision
        view.allocations.append(decision)
        self._stock.owe(decision.backordered)
        self._track.note(views.allocation_note(decision))
        await self._lines.wake_others(result.filled_orders)
        return decision.shipments

    async def _settle_money(self, new_auth: str | None, lowered: Decimal, n: int) -> Decimal:
        """Void the replaced authorization, or release what the total went down; what was
        released. The new shipments then capture from the authorization that holds the money."""
        inp, payment = self._inp, self._payment
        released = Decimal("0.00")
        old = payment.authorization_id
        if old and (new_auth is not None or (lowered > 0 and inp.payment.method == "card")):
            result = await payment.calls.void(
                f"{inp.order_id}:edit-release:{n}",
                old,
                "release the old authorization",
                amount=None if new_auth is not None else lowered,
            )
            released = result.voided_amount
        if new_auth is not None:
            payment.authorization_id, payment.authorized_at = new_auth, workflow.now()
        return released

    def _q(self, queue: str) -> str:
        return self._inp.options.task_queue_prefix + queue


def _too_late(summary: ShipmentSummary, what: str, readdress: bool = False) -> ApplicationError:
    # What is still possible: before it ships, cancelling lines or the order; after, only
    # a return (or a claim for a parcel lost or damaged on the way). A new address still
    # reaches each parcel not shipped, one by one.
    shipped = summary.status in SHIPPED_STATES or summary.status == ShipmentStatus.CLAIMED
    instead = "return it or open a claim" if shipped else "cancel lines or the order"
    message = (
        f"too late to edit: shipment {summary.shipment_id} {what} at {summary.warehouse_id}; "
        f"{instead} instead"
    )
    if readdress:
        message += (
            "; a parcel still picking, or held because the carrier refused its address, "
            "takes a new address by POST /shipments/{id}/address"
        )
    return ApplicationError(message, type="TooLateToEdit")
