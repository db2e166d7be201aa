"""Cancelling part of a line (update ``cancel_line``) and settling a short pick (signal
``shipment_short``), for ``OrderWorkflow``.

Workflow code (no I/O). The units come from what the order is owed first, then from
shipments that have not shipped (newest first): each such shipment is asked to take the
units out (signal ``trim_lines``, answered by ``shipment_trimmed``; a shipment whose
label is being bought refuses) or, left empty, is stopped like a cancelled order's. Their
reservations shrink on keys that name what to keep (``inventory.trim``), the order's
lines and total go down, and the card authorization releases the difference
(``<order>:release-line:<n>``): nothing is captured for units of a paid parcel that never
shipped. Units a claim's reship sent or owes at no charge were paid by the claimed parcel's
capture: those are refunded instead (``<order>:line-refund:<n>``, patch
``order-line-cancel-refunds-paid-units``); on an invoice-term order, whose claimed parcel was
invoiced, the company gets a credit note for them (``<order>:line-credit:<n>``, patch
``order-line-cancel-credits-invoiced-units``). While a cancellation runs, the order's status and
end wait for its record (patch ``order-line-cancel-recorded-first``, in ``OrderWorkflow``).
The customer is told what went, the money and the new total (``order_line_cancelled``, key
``<order>:line-cancel:<n>``), in runs that took the patch ``order-line-cancel-email`` (a run
that cancelled a line before it sends none for it).

A short pick's missing units (the shipment already took them out of stock and ships the
rest) are owed again by the merchant's policy ``backorder`` (``inventory.backorder`` on
``<order>:short:<n>``, filled at once from free stock anywhere; at no charge when the parcel
was a claim's reship, patch ``order-short-pick-reship-free``) or taken off the order by
``cancel``, exactly like a line cancellation. In runs that took the patch
``order-short-pick-email`` the customer is told, once per short pick: what was taken off and
the new total (``order_short_picked``, key ``<order>:short-pick:<n>``), or, when units are
still owed once the order claimed what free stock filled, the backorder email
(``order_backordered``, key ``<order>:backordered:short:<n>``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.credit import CreditActivities
    from activities.inventory import InventoryActivities
    from oms.domain.money import format_money
    from oms.domain.order_changes import (
        ChangeRefused,
        LineCancelPlan,
        ShipmentCut,
        changed_total,
        changed_totals,
        cut_lines,
        parcel_refund,
        plan_line_cancel,
    )
    from oms.ids import shipment_workflow_id
    from oms.models.common import SkuQuantity
    from oms.models.credit import CreditNoteRequest
    from oms.models.order_changes import (
        BackorderUnits,
        CancelLine,
        LineCancellation,
        ShipmentTrimmed,
        ShortPick,
        TrimReservation,
        TrimShipment,
    )
    from oms.models.orders import OrderInput, OrderView, ShipmentSummary
    from oms.models.shipments import ShipmentStatus
    from oms.queues import INVENTORY_QUEUE, PAYMENTS_QUEUE
    from oms.views import orders as views
    from workflows import policies
    from workflows.order_payment import Payment
    from workflows.order_shipments import DONE, ENDED, Shipments
    from workflows.order_state import Email
    from workflows.order_stock import Stock, wake
    from workflows.tracker import Tracker

# The shipment's signal; a name, because the shipment module is imported by the order's.
TRIM_SIGNAL = "trim_lines"
# Patch: a run with this marker emails the customer each line cancellation.
LINE_CANCEL_EMAIL_PATCH = "order-line-cancel-email"
# Patch: a run with this marker emails the customer each short pick's outcome; asked only
# when the email is due. A run without it sent none.
SHORT_PICK_EMAIL_PATCH = "order-short-pick-email"
# Patch: while a line cancellation runs, the order's status and end wait for its record: a
# shipment it stops whole was the last one, and the order went delivered and completed (events,
# emails) with the lines and total from before. Asked at each line cancellation; a run
# without it replays as it ran.
LINE_CANCEL_RECORDED_FIRST_PATCH = "order-line-cancel-recorded-first"
# Patch: units the customer already paid for (sent again at no charge after a claim: the
# claimed parcel's capture paid them) are refunded when cancelled (``<order>:line-refund:<n>``),
# and only the rest of the amount is released. Asked only when a card order cancels such
# units; a run without it released the whole amount (nothing, the authorization being used
# up) and refunded nothing, and replays so.
LINE_REFUND_PATCH = "order-line-cancel-refunds-paid-units"
# Patch: the same units of an invoice-term order (the claimed parcel's invoice charged them)
# are credited to the company with a credit note when cancelled (``<order>:line-credit:<n>``,
# ``CreditActivities.credit_note``). Asked only when an invoice order cancels such units; a
# run without it credited nothing (the company stayed invoiced for units it never got), and
# replays so.
LINE_CREDIT_PATCH = "order-line-cancel-credits-invoiced-units"
# Patch: under the ``backorder`` policy, units short-picked from a parcel a claim's reship
# sent at no charge are owed at no charge (``BackorderUnits.free``, ``Stock.free_owed``):
# filled, they ship in a parcel that captures nothing, and a line cancel refunds them. Asked
# only for a short pick of such a parcel; a run without it owed them as paid (a fill tried to
# capture them again on the claimed parcel's used-up authorization), and replays so.
SHORT_PICK_FREE_PATCH = "order-short-pick-reship-free"


class LineCancels:
    """The order's line cancellations and the shipments' answers to them."""

    def __init__(
        self,
        inp: OrderInput,
        view: OrderView,
        track: Tracker[OrderView],
        shipments: Shipments,
        stock: Stock,
        payment: Payment,
        email: Email,
    ) -> None:
        self._inp, self._view, self._track, self._email = inp, view, track, email
        self._shipments, self._stock, self._payment = shipments, stock, payment
        self._answers: dict[str, ShipmentTrimmed] = {}
        self._count = self._releases = self._short_count = self._refunds = 0
        self._credits = 0
        # Short picks told by shipments, settled by the order's main loop.
        self.shorts: list[ShortPick] = []
        # Short picks owed again, told once the order claimed what free stock filled at once:
        # each one's number and what the order owed of its SKUs before it.
        self.owed_shorts: list[tuple[int, dict[str, int]]] = []

    def counters(self) -> dict[str, int]:
        """The key counters a continued run carries on."""
        return {
            "line_cancels": self._count,
            "line_releases": self._releases,
            "short_picks": self._short_count,
            "line_refunds": self._refunds,
            "line_credits": self._credits,
        }

    def restore(self, counters: dict[str, int]) -> None:
        self._count = counters.get("line_cancels", 0)
        self._releases = counters.get("line_releases", 0)
        self._short_count = counters.get("short_picks", 0)
        self._refunds = counters.get("line_refunds", 0)
        self._credits = counters.get("line_credits", 0)

    def plan(self, request: CancelLine) -> LineCancelPlan:
        """The units a cancellation would take now; ``ApplicationError`` naming why not."""
        view = self._view
        try:
            return plan_line_cancel(
                request.sku, request.quantity, view.lines, view.backordered, view.shipments
            )
        except ChangeRefused as err:
            raise ApplicationError(str(err), type=err.kind) from err

    def answered(self, answer: ShipmentTrimmed) -> None:
        self._answers[answer.key] = answer

    async def cancel(self, request: CancelLine, cancelling: Callable[[], bool]) -> None:
        """Take the units out, give back their stock and money, and record who and why.

        Raises ``ApplicationError`` ``TooLateToCancelLine`` when a shipment shipped first
        (nothing changed, unless an earlier shipment of the same request had already given
        up its units: the history then says which), and what :meth:`plan` raises.
        """
        if cancelling():
            raise ApplicationError("the order is being cancelled", type="NotCancellable")
        plan = self.plan(request)  # again: the order may have moved since the validator ran
        self._count += 1
        n = self._count
        key = f"{self._inp.order_id}:line-cancel:{n}"
        taken: dict[str, int] = {}
        for cut in plan.cuts:
            if not await self._cut(request, cut, key):
                shipped = f"{cut.shipment_id} shipped before its units could be taken out"
                if taken:
                    done = sum(taken.values())
                    await self._record(request, 0, taken, done, partly=shipped, tell=key)
                raise ApplicationError(
                    f"too late to cancel {request.quantity} of {request.sku}: {shipped}"
                    + (f"; {sum(taken.values())} unit(s) were cancelled" if taken else ""),
                    type="TooLateToCancelLine",
                )
            taken[cut.shipment_id] = cut.quantity
        paid_owed = 0
        if plan.from_backorder:
            # Units owed at no charge go first (the store trims them first too).
            paid_owed = self._stock.take_owed(request.sku, plan.from_backorder)
            await self._trim(
                TrimReservation(order_id=self._inp.order_id, sku=request.sku, keep=plan.owed_keep)
            )
            owed = [ln for ln in self._view.backordered if ln.sku != request.sku]
            if plan.owed_keep:
                owed.append(SkuQuantity(sku=request.sku, quantity=plan.owed_keep))
            self._stock.owe(sorted(owed, key=lambda ln: ln.sku))
        await self._record(
            request, plan.from_backorder, taken, request.quantity, tell=key, paid_owed=paid_owed
        )

    async def _tell(self, key: str) -> None:
        """Email the customer the cancellation just recorded: what went, why, the order's
        lines and total now (one email per cancellation, on its key)."""
        if not workflow.patched(LINE_CANCEL_EMAIL_PATCH):
            return
        cancelled = self._view.line_cancellations[-1]
        locale = self._view.customer.locale
        # Only the context changes (no command): a payload, so no patch of its own.
        await self._email(
            key,
            "order_line_cancelled",
            sku=cancelled.sku,
            quantity=cancelled.quantity,
            reason=cancelled.reason,
            amount=format_money(cancelled.amount, self._inp.currency, locale)
            if cancelled.amount
            else "",
            **self._money_context([cancelled]),
            nothing_left=self._nothing_left(),
        )

    def _money_context(
        self, cancelled: list[LineCancellation]
    ) -> dict[str, str | bool | list[str]]:
        """What an email says of the money of ``cancelled``: ``refunded`` (formatted, ""
        when nothing was), ``on_account`` (an invoice-term order: what was refunded is
        credited to the company's account, with ``credit_notes``, their numbers),
        ``refund_due`` (the provider declined the refund, or the ledger the credit note, of
        units already paid for: the customer is owed it), ``not_charged`` (some of the units
        were never charged: their authorization is released)."""
        refunded = sum((c.refunded for c in cancelled), Decimal("0.00"))
        locale = self._view.customer.locale
        return {
            "refunded": format_money(refunded, self._inp.currency, locale) if refunded else "",
            # An invoice-term order's money goes back to the company's account (credit notes).
            "on_account": self._inp.payment.method == "invoice",
            "credit_notes": [c.credit_note for c in cancelled if c.credit_note],
            "refund_due": any(c.refund_error for c in cancelled),
            "not_charged": any(
                c.released > 0 if c.refund_error else c.amount > c.refunded for c in cancelled
            ),
        }

    def _nothing_left(self) -> bool:
        """Nothing of the order is left to deliver: every parcel delivered, settled or
        cancelled, nothing owed (the order completes next)."""
        shipments = self._shipments.by_id.values()
        return not self._view.backordered and all(s.status in ENDED for s in shipments)

    async def settle_shorts(self) -> bool:
        """Owe or cancel the missing units of every short pick told so far (the merchant's
        policy); True when free stock filled the new backorders at once (claim them)."""
        inp, claim = self._inp, False
        while self.shorts:
            pick = self.shorts.pop(0)
            summary = self._shipments.by_id.get(pick.shipment_id)
            for line in pick.missing:
                if summary is not None:
                    summary.lines = cut_lines(summary.lines, line.sku, line.quantity)
            what = views.units(pick.missing)
            # Every short pick counts (its emails' keys); ``<order>:short:<n>`` is a backorder
            # policy's, and an order keeps one policy, so those keys stay as they were.
            self._short_count += 1
            if inp.options.short_pick_policy == "cancel":
                total, before = self._view.total, len(self._view.line_cancellations)
                for line in pick.missing:
                    request = CancelLine(
                        sku=line.sku,
                        quantity=line.quantity,
                        reason=f"short pick at {pick.warehouse_id} (policy: cancel)",
                        by=pick.by or "warehouse",
                    )
                    await self._record(request, 0, {pick.shipment_id: line.quantity}, line.quantity)
                cancelled = self._view.line_cancellations[before:]
                await self._tell_short(pick, total - self._view.total, cancelled)
                continue
            owed = {ln.sku: ln.quantity for ln in self._view.backordered}
            had = {ln.sku: owed.get(ln.sku, 0) for ln in pick.missing}
            self.owed_shorts.append((self._short_count, had))
            # Units missing from a reship's parcel were paid by the claimed parcel's capture:
            # they stay owed at no charge.
            free = pick.shipment_id in self._shipments.free and workflow.patched(
                SHORT_PICK_FREE_PATCH
            )
            filled = await workflow.execute_activity_method(
                InventoryActivities.backorder,
                BackorderUnits(
                    key=f"{inp.order_id}:short:{self._short_count}",
                    order_id=inp.order_id,
                    lines=pick.missing,
                    placed_at=inp.placed_at,
                    free=free,
                ),
                **policies.STORE.kwargs(
                    inp.options.task_queue_prefix + INVENTORY_QUEUE, f"backorder {what}"
                ),
            )
            self._stock.owe_more(pick.missing, free=free)
            self._track.note(
                f"Short pick at {pick.warehouse_id} by {pick.by}: {what} not in "
                f"{pick.shipment_id}, backordered (policy: backorder)",
                by=pick.by or None,
                action="short_pick",
            )
            await self.wake_others(filled.filled_orders)
            claim = claim or inp.order_id in filled.filled_orders
            self._shipments.changed = True
        return claim

    async def _tell_short(
        self, pick: ShortPick, amount: Decimal, cancelled: list[LineCancellation]
    ) -> None:
        """Email the customer what a short pick took off the order (``amount``, by how much
        the total went down; ``cancelled``, its line cancellations: what was refunded) and
        the order's lines and total now."""
        if not workflow.patched(SHORT_PICK_EMAIL_PATCH):
            return
        await self._email(
            f"{self._inp.order_id}:short-pick:{self._short_count}",
            "order_short_picked",
            shipment_id=pick.shipment_id,
            missing=[{"sku": ln.sku, "quantity": ln.quantity} for ln in pick.missing],
            amount=format_money(amount, self._inp.currency, self._view.customer.locale)
            if amount
            else "",
            **self._money_context(cancelled),
        )

    async def tell_owed_shorts(self) -> None:
        """Send the backorder email for each short pick settled since (one per pick, on its
        key) whose units are still owed now that the order claimed what free stock filled
        at once; a pick filled whole sends none, and asks no patch."""
        owed = {ln.sku: ln.quantity for ln in self._view.backordered}
        while self.owed_shorts:
            n, before = self.owed_shorts.pop(0)
            if not any(owed.get(sku, 0) > had for sku, had in before.items()):
                continue
            if workflow.patched(SHORT_PICK_EMAIL_PATCH):
                await self._email(
                    f"{self._inp.order_id}:backordered:short:{n}", "order_backordered"
                )
                self._view.backorder_emailed = True

    async def _cut(self, request: CancelLine, cut: ShipmentCut, key: str) -> bool:
        """Take the cut's units out of its shipment; False when it shipped first."""
        summary = self._shipments.by_id[cut.shipment_id]
        if cut.whole:
            await self._shipments.stop(f"line cancelled: {request.reason}", only=cut.shipment_id)
            if summary.status != ShipmentStatus.CANCELLED:
                return False
            await self._stock.release(cut.shipment_id)
            return True
        key = f"{key}:{cut.shipment_id}"
        try:
            await workflow.get_external_workflow_handle(
                shipment_workflow_id(cut.shipment_id)
            ).signal(
                TRIM_SIGNAL,
                TrimShipment(
                    key=key,
                    sku=request.sku,
                    quantity=cut.quantity,
                    reason=request.reason,
                    by=request.by,
                ),
            )
        except Exception:  # the shipment ended meanwhile: nothing to take out of it
            return False
        answer = await self.answer(key, summary)
        if answer is None or not answer.accepted:
            return False
        summary.lines = cut_lines(summary.lines, request.sku, cut.quantity)
        await self._trim(
            TrimReservation(
                order_id=self._inp.order_id,
                sku=request.sku,
                keep=cut.keep,
                shipment_id=cut.shipment_id,
            )
        )
        return True

    async def _trim(self, request: TrimReservation) -> None:
        queue = self._inp.options.task_queue_prefix + INVENTORY_QUEUE
        where = request.shipment_id or "backorder"
        freed = await workflow.execute_activity_method(
            InventoryActivities.trim,
            request,
            **policies.STORE.kwargs(queue, f"keep {request.keep} {request.sku} ({where})"),
        )
        await self.wake_others(freed.filled_orders)

    async def answer(self, key: str, summary: ShipmentSummary) -> ShipmentTrimmed | None:
        """The shipment's answer under ``key``, or None when it shipped or ended first."""
        await workflow.wait_condition(lambda: key in self._answers or summary.status in DONE)
        return self._answers.pop(key, None)

    async def wake_others(self, orders: list[str]) -> None:
        for other in orders:
            if other != self._inp.order_id:
                await wake(other)

    async def _record(
        self,
        request: CancelLine,
        from_backorder: int,
        taken: dict[str, int],
        quantity: int,
        partly: str = "",
        tell: str = "",
        paid_owed: int = 0,
    ) -> None:
        """The order's lines and total after ``quantity`` units went, the money of the
        difference given back, the history line with who and why, and, with ``tell`` (its
        key), the customer's email.

        Units the customer already paid for (``paid_owed`` of the owed ones, and those taken
        out of parcels sent at no charge after a claim: the claimed parcel's capture paid
        them) are refunded on a card (``<order>:line-refund:<n>``, patch
        ``order-line-cancel-refunds-paid-units``), or, on invoice terms (the claimed parcel's
        invoice charged them), credited to the company with a credit note
        (``<order>:line-credit:<n>``, patch ``order-line-cancel-credits-invoiced-units``); the
        rest is released of the authorization (``<order>:release-line:<n>``): nothing is
        captured before a parcel ships."""
        view, inp = self._view, self._inp
        before = view.total
        line = next((ln for ln in view.lines if ln.sku == request.sku), None)
        view.lines = cut_lines(view.lines, request.sku, quantity)
        if inp.totals is not None:
            # Subtotal, VAT per rate and total as the order's pricing computes them.
            views.show_totals(view, changed_totals(view.lines, inp.totals))
        else:
            view.total = changed_total(view.lines)
        amount = before - view.total
        paid = paid_owed + sum(n for s, n in taken.items() if s in self._shipments.free)
        refund = credit = Decimal("0.00")
        card = inp.payment.method == "card"
        invoice = inp.payment.method == "invoice"
        if line is not None and paid and amount > 0:
            # What those units were charged (as their parcel was: VAT included; on invoice
            # terms, what the claimed parcel's invoice charged), at most what the total went
            # down by. Each patch is asked only on its own payment method's path.
            charged, _ = parcel_refund([line.model_copy(update={"quantity": paid})], inp.totals)
            if card and workflow.patched(LINE_REFUND_PATCH):
                refund = min(charged, amount)
            elif invoice and workflow.patched(LINE_CREDIT_PATCH):
                credit = min(charged, amount)
        released = Decimal("0.00")
        auth = self._payment.authorization_id
        if auth and card and amount - refund > 0:
            result = await self._payment.calls.void(
                f"{inp.order_id}:release-line:{self._releases + 1}",
                auth,
                f"release {amount - refund} {inp.currency} of the authorization",
                amount=amount - refund,
            )
            released = result.voided_amount
            self._releases += 1
        cancelled = LineCancellation(
            at=workflow.now(),
            by=request.by,
            sku=request.sku,
            quantity=quantity,
            reason=request.reason,
            from_backorder=from_backorder,
            from_shipments=taken,
            amount=amount,
            released=released,
        )
        if refund:
            await self._refund(request, paid, refund, cancelled)
        if credit:
            await self._credit(request, paid, credit, cancelled)
        view.line_cancellations.append(cancelled)
        note = views.line_cancel_note(view.line_cancellations[-1], inp.currency, invoice=invoice)
        self._track.note(
            note + (f" ({partly})" if partly else ""), by=request.by, action="cancel_line"
        )
        if tell:
            await self._tell(tell)
        # After the email: the update answers with the cancellation as the last history line.
        self._shipments.changed = True

    async def _refund(
        self, request: CancelLine, units: int, amount: Decimal, cancelled: LineCancellation
    ) -> None:
        """Refund ``amount`` for ``units`` of ``request.sku`` the customer already paid for,
        exactly once on ``<order>:line-refund:<n>``; a declined refund is kept on
        ``cancelled`` (``refund_error``): the units are gone either way, and operations
        refund it with ``POST /orders/{id}/refunds``."""
        inp = self._inp
        self._refunds += 1
        try:
            refund = await self._payment.calls.refund(
                f"{inp.order_id}:line-refund:{self._refunds}",
                amount,
                f"{units} x {request.sku} cancelled, already paid for: {request.reason}",
                summary=f"refund {amount} {inp.currency} for {units} x {request.sku}",
            )
        except ActivityError as err:
            cancelled.refund_error = policies.cause(err)
            return
        cancelled.refunded, cancelled.refund_id = amount, refund.refund_id

    async def _credit(
        self, request: CancelLine, units: int, amount: Decimal, cancelled: LineCancellation
    ) -> None:
        """Credit the company ``amount`` for ``units`` of ``request.sku`` it was already
        invoiced for, with one credit note on ``<order>:line-credit:<n>`` (the ledger issues
        it once per key, so a retried activity issues no second one); its available credit
        grows by it. A refused note (``CreditNoteRefused``: more than invoiced minus already
        credited) is kept on ``cancelled`` (``refund_error``): the units are gone either way,
        and operations credit it with ``POST /orders/{id}/refunds``."""
        inp = self._inp
        self._credits += 1
        units_of = f"{units} x {request.sku}"
        try:
            note = await workflow.execute_activity_method(
                CreditActivities.credit_note,
                CreditNoteRequest(
                    key=f"{inp.order_id}:line-credit:{self._credits}",
                    order_id=inp.order_id,
                    amount=amount,
                    reason=f"{units_of} cancelled, already invoiced: {request.reason}",
                    sku=request.sku,
                    quantity=units,
                ),
                **policies.PAYMENTS.kwargs(
                    inp.options.task_queue_prefix + PAYMENTS_QUEUE,
                    f"credit note of {amount} {inp.currency} for {units_of}",
                ),
            )
        except ActivityError as err:
            cancelled.refund_error = policies.cause(err)
            return
        cancelled.refunded, cancelled.credit_note = note.amount, note.number
