"""Claims on parcels lost or damaged in transit, for ``OrderWorkflow`` (update
``open_claim``).

Workflow code (no I/O). A parcel still in transit is told the claim settles it (signal
``claim``: it stops waiting for tracking and ends ``claimed``; a delivery scan that came
first wins, and a ``lost`` claim is then refused). Then either

- ``reship``: the parcel's lines are allocated again (``<order>:claim:<n>``) and shipped as
  new shipments **at no charge** (they capture nothing); units no warehouse has are owed
  at no charge too (the store keeps them apart from paid backorders, and the order ships
  them free when stock fills them: ``Fulfilment.claim_backorders``), and the customer gets
  the backorder email for them (``order_backordered``, key
  ``<order>:backordered:claim:<n>``) in runs that took the patch
  ``order-claim-backorder-email``;
- ``refund``: what the parcel's lines came to is refunded on the order's card
  (``<shipment>:claim-refund``, exactly once).

The customer is then told the outcome (``order_claim_settled``, key ``<order>:claim:<n>``),
in runs that took the patch ``order-claim-email`` (a run that settled a claim before it
sends none for that claim, so its history replays).

From the signal until the reship or the refund is recorded the order's status waits, then is
worked out once (patch ``order-claim-status-held``): the settled parcel alone must not make
the order ``delivered`` while its reship is still to come.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from oms.domain.order_changes import parcel_refund
    from oms.ids import shipment_workflow_id
    from oms.models.common import SkuQuantity
    from oms.models.order_changes import ClaimShipment, OpenClaim, ShipmentClaim
    from oms.models.orders import OrderInput, OrderView
    from oms.models.shipments import SHIPPED_STATES, ShipmentStatus
    from oms.views import orders as views
    from workflows import policies
    from workflows.order_payment import Payment
    from workflows.order_shipments import Shipments
    from workflows.order_state import Email, OrderState
    from workflows.order_stock import Stock
    from workflows.tracker import Tracker

CLAIM_SIGNAL = "claim"
# Patch: a run with this marker emails the customer each claim's outcome.
CLAIM_EMAIL_PATCH = "order-claim-email"
# Patch: a reship that leaves units owed sends the customer the backorder email, as the first
# allocation does; asked only when it owed some. A run without it sent none.
CLAIM_BACKORDER_EMAIL_PATCH = "order-claim-backorder-email"
# Patch: a refund claim the provider declines is kept (``refund_error``, nothing refunded)
# before the update is refused, so the parcel, settled by then, is not left claimed with no
# claim on record (a claim could not be opened on it again, and the order completed with
# no word of it). Asked only when a claim's refund is declined.
CLAIM_REFUND_DECLINED_PATCH = "order-claim-refund-declined"
# Patch: the order's status waits from the claim's signal until the reship (its parcels, the
# units it owes) or the refund is recorded, then is worked out once. A run without it worked
# the status out meanwhile: a claimed parcel whose other parcels were delivered made the
# order ``delivered`` (webhook ``order.delivered``), then ``partially_shipped`` again.
CLAIM_STATUS_HELD_PATCH = "order-claim-status-held"


class Claims:
    """The order's claims on its parcels."""

    def __init__(
        self,
        inp: OrderInput,
        view: OrderView,
        track: Tracker[OrderView],
        parts: tuple[Shipments, Stock, Payment],
        email: Email,
        status: tuple[OrderState, Callable[[], None]],
    ) -> None:
        self._inp, self._view, self._track, self._email = inp, view, track, email
        self._shipments, self._stock, self._payment = parts
        # The order's progress, and how it works its status out again.
        self._state, self._refresh_status = status
        self._count = 0

    def counters(self) -> dict[str, int]:
        """The key counter a continued run carries on."""
        return {"claims": self._count}

    def restore(self, counters: dict[str, int]) -> None:
        self._count = counters.get("claims", 0)

    def check(self, request: OpenClaim) -> None:
        """``ApplicationError`` naming why a claim cannot be opened: ``UnknownShipment``,
        ``AlreadyClaimed``, ``NotShipped``, ``NotLost`` (delivered), ``NotSupported`` (a
        refund of an order not paid by card)."""
        summary = self._shipments.known(request.shipment_id)
        if any(c.shipment_id == request.shipment_id for c in self._view.claims):
            raise ApplicationError(
                f"{request.shipment_id} already has a claim", type="AlreadyClaimed"
            )
        if summary.status not in SHIPPED_STATES:
            raise ApplicationError(
                f"a claim is for a parcel that shipped; {request.shipment_id} is {summary.status}",
                type="NotShipped",
            )
        if request.kind == "lost" and summary.status == ShipmentStatus.DELIVERED:
            raise ApplicationError(
                f"{request.shipment_id} was delivered: claim it damaged, or open a return",
                type="NotLost",
            )
        if request.resolution == "refund" and self._inp.payment.method != "card":
            raise ApplicationError(
                f"a refund claim needs a card payment; the order paid by "
                f"{self._inp.payment.method}",
                type="NotSupported",
            )

    async def open(self, request: OpenClaim) -> None:
        """Settle the parcel and reship or refund it (see the module); raises what
        :meth:`check` raises, ``NotLost`` when a delivery scan came first."""
        self.check(request)
        held = workflow.patched(CLAIM_STATUS_HELD_PATCH)
        with self._state.replacing_parcel(held):
            claim, owed = await self._settle(request)
        if held:
            # The reship or refund is on record: the status the parcels make now, before
            # the claim's history line (the update answers with it as the last).
            self._refresh_status()
        inp, view = self._inp, self._view
        view.claims.append(claim)
        self._track.note(views.claim_note(claim, inp.currency), by=request.by, action="claim")
        if workflow.patched(CLAIM_EMAIL_PATCH):
            await self._email(
                f"{inp.order_id}:claim:{self._count}",
                "order_claim_settled",
                **views.claim_context(view, claim),
            )
        # Units no warehouse could take are a backorder like any other: the customer hears,
        # and the email may be resent (``backorder_emailed``).
        if owed and workflow.patched(CLAIM_BACKORDER_EMAIL_PATCH):
            await self._email(
                f"{inp.order_id}:backordered:claim:{self._count}", "order_backordered"
            )
            view.backorder_emailed = True
        # After the email: the update answers with the claim as the last history line.
        self._shipments.changed = True

    async def _settle(self, request: OpenClaim) -> tuple[ShipmentClaim, list[SkuQuantity]]:
        """Settle the parcel (signal ``claim``) and reship or refund its lines: the claim,
        and the units its reship owes. Raises ``NotLost`` (a delivery scan came first) and
        ``RefundDeclined``."""
        inp, view = self._inp, self._view
        summary = self._shipments.by_id[request.shipment_id]
        if summary.status != ShipmentStatus.DELIVERED:
            await workflow.get_external_workflow_handle(
                shipment_workflow_id(request.shipment_id)
            ).signal(
                CLAIM_SIGNAL,
                ClaimShipment(kind=request.kind, by=request.by, reason=request.reason),
            )
            ended = (ShipmentStatus.CLAIMED, ShipmentStatus.DELIVERED)
            await workflow.wait_condition(lambda: summary.status in ended)
            if summary.status == ShipmentStatus.DELIVERED and request.kind == "lost":
                raise ApplicationError(
                    f"{request.shipment_id} was delivered while the claim was opened",
                    type="NotLost",
                )
        self._count += 1
        claim = ShipmentClaim(
            at=workflow.now(),
            by=request.by,
            shipment_id=request.shipment_id,
            kind=request.kind,
            resolution=request.resolution,
            reason=request.reason,
        )
        lines = [SkuQuantity(sku=ln.sku, quantity=ln.quantity) for ln in summary.lines]
        owed: list[SkuQuantity] = []
        if request.resolution == "reship":
            decision = await self._stock.allocate(
                self._shipments.next_no,
                lines,
                key=f"{inp.order_id}:claim:{self._count}",
                free=True,  # what no warehouse has now is owed free, for when stock comes
            )
            await self._shipments.start(
                decision.shipments, self._payment.authorization_id or "", free=True
            )
            owed = decision.backordered
            if owed:
                self._stock.owe_more(owed, free=True)
            claim.reshipped_as = [s.shipment_id for s in decision.shipments]
        else:
            priced = {ln.sku: ln for ln in (*inp.lines, *view.lines)}
            parcel = [priced[ln.sku].model_copy(update={"quantity": ln.quantity}) for ln in lines]
            # As the parcel was charged (VAT included), split per rate.
            amount, claim.refund_tax = parcel_refund(parcel, inp.totals)
            try:
                claim.refunded, claim.refund_id = amount, await self._refund(request, amount)
            except ApplicationError as err:
                if not workflow.patched(CLAIM_REFUND_DECLINED_PATCH):
                    raise
                await self._declined(request, claim, amount, err)
        return claim, owed

    async def _declined(
        self, request: OpenClaim, claim: ShipmentClaim, amount: Decimal, err: ApplicationError
    ) -> None:
        """Keep the claim whose refund the provider declined, then refuse the update with
        what to do: the parcel is settled, so the claim is on record, refunded nothing."""
        inp, view = self._inp, self._view
        cause = err.__cause__
        reason = policies.cause(cause) if isinstance(cause, ActivityError) else err.message
        claim.refunded, claim.refund_id, claim.refund_error = Decimal("0.00"), None, reason
        view.claims.append(claim)
        self._track.note(views.claim_note(claim, inp.currency), by=request.by, action="claim")
        self._shipments.changed = True
        raise ApplicationError(
            f"{request.shipment_id} is settled by the {request.kind} claim, but the provider "
            f"declined the refund of {amount} {inp.currency} ({reason}); refund it with "
            f"POST /orders/{inp.order_id}/refunds once the cause is dealt with",
            type="RefundDeclined",
        ) from err

    async def _refund(self, request: OpenClaim, amount: Decimal) -> str:
        inp = self._inp
        try:
            refund = await self._payment.calls.refund(
                f"{request.shipment_id}:claim-refund",
                amount,
                f"claim ({request.kind}) on {request.shipment_id}: {request.reason}",
                summary=f"refund {amount} {inp.currency} for {request.shipment_id}",
            )
        except ActivityError as err:
            raise ApplicationError(
                f"the refund of {amount} {inp.currency} was declined: {err.cause or err}",
                type="RefundDeclined",
            ) from err
        return refund.refund_id
