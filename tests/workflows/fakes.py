"""Same-name fake activities for workflow unit tests: they record what the workflow asked.

Fakes are for testing one unit (the workflows) in isolation; integration and
end-to-end tests run the real activities against real systems.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.rejections import rejected
from oms.domain.pricing import PricingError, price_quote
from oms.domain.shipping import unserved
from oms.models.carrier import (
    Label,
    LabelRequest,
    Rate,
    RateQuote,
    RateRequest,
    VoidLabelRequest,
    VoidLabelResult,
)
from oms.models.common import Address, SkuQuantity
from oms.models.credit import (
    ConsumeCredit,
    CreditMovement,
    CreditNoteIssued,
    CreditNoteRequest,
    CreditReservation,
    ReleaseCredit,
    ReserveCredit,
)
from oms.models.inventory import (
    AllocateRequest,
    AllocationDecision,
    BackorderCheck,
    BackorderFill,
    ConsumeRequest,
    ConsumeResult,
    PlannedShipment,
    ReleaseRequest,
    ReleaseResult,
    StockLevel,
    StockReceipt,
)
from oms.models.notifications import EmailRequest, EmailResult
from oms.models.order_changes import (
    BackorderResult,
    BackorderUnits,
    Reallocate,
    Reallocation,
    TrimReservation,
)
from oms.models.orders import OrderView, ReadModelWrite, RecordResult
from oms.models.payments import (
    Authorization,
    AuthorizeRequest,
    Capture,
    CaptureRequest,
    VoidAuthorizationRequest,
    VoidAuthorizationResult,
)
from oms.models.quotes import PriceQuoteRequest, Proposal, QuoteView
from oms.models.returns import (
    EligibilityRequest,
    EligibilityResult,
    Refund,
    RefundRequest,
    RefundRoom,
    RefundRoomRequest,
    ReturnLabelRequest,
    ReturnView,
    StockMovement,
)
from oms.models.risk import RiskCheck, RiskReview
from oms.models.shipments import ShipmentView

WAREHOUSE_ADDRESS = Address(
    name="OMS Stockholm", line1="Lagervägen 1", postal_code="125 30", city="Stockholm", country="SE"
)


@dataclass
class Owed:
    """A backorder the fake store keeps: what is still open, and whether it is owed free."""

    sku: str
    open: int
    free: bool


@dataclass
class World:
    """What the fakes were asked to do, and knobs for how they answer."""

    # sku -> units the fake store can allocate (the rest is backordered)
    stock: dict[str, int] = field(default_factory=dict)
    decline_tokens: set[str] = field(default_factory=lambda: {"tok_declined"})
    invalid_postcodes: set[str] = field(default_factory=set)
    unserved_countries: set[str] = field(default_factory=set)  # the carrier ships nowhere there
    # SKUs the fake carrier finds without customs data (its label purchase is refused).
    customs_missing: set[str] = field(default_factory=set)
    arrived: dict[str, int] = field(default_factory=dict)  # backorder units claimable
    # What allocations owed, oldest first: arrived units fill these (a reship's free ones
    # into a free parcel); units beyond them fill untracked (paid) backorders.
    owed: list[Owed] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    emails: list[EmailRequest] = field(default_factory=list)
    orders: dict[str, OrderView] = field(default_factory=dict)
    # Every order view written, in order (what the read model, and its events, saw).
    order_writes: list[OrderView] = field(default_factory=list)
    quotes: dict[str, QuoteView] = field(default_factory=dict)
    list_prices: dict[str, Decimal] = field(default_factory=lambda: {"RACK": Decimal("1000.00")})
    credit_available: Decimal = Decimal("1000000.00")
    credit_over_limit_action: str = "hold"
    shipments: dict[str, ShipmentView] = field(default_factory=dict)
    returns: dict[str, ReturnView] = field(default_factory=dict)
    # Refunds the fake provider declines (by SKU in the key) until the set is emptied.
    decline_refunds_for: set[str] = field(default_factory=set)
    # What the fake provider answered each declined key (asked again, it answers the same).
    declined_refunds: dict[str, str] = field(default_factory=dict)
    refunds: dict[str, RefundRequest] = field(default_factory=dict)
    # The fake provider's books of the returns' order, as the sandbox keeps them: what was
    # captured (None: not kept, the provider refunds anything) and refunded without the
    # fake (refunds without a return, claims); the store's ``returns.refund_room`` says so.
    captured: Decimal | None = None
    refunded_elsewhere: Decimal = Decimal("0.00")
    # Credit notes issued by key; what is left to credit (None: no limit).
    credit_notes: dict[str, CreditNoteRequest] = field(default_factory=dict)
    credit_note_room: Decimal | None = None
    # Credit note attempts the fake ledger fails as "down" (retryable) before it answers.
    credit_note_unavailable: int = 0
    # What the fake risk review finds for every order (empty: every order passes).
    risk_findings: list[str] = field(default_factory=list)
    # When set, the fake store answers an allocation only once this event is set.
    allocate_gate: asyncio.Event | None = None
    # When set, the fake provider answers an authorization only once this event is set.
    authorize_gate: asyncio.Event | None = None
    # When set, the fake carrier sells a label only once this event is set.
    label_gate: asyncio.Event | None = None
    # When set, the fake provider declines authorizations of more than this.
    decline_over: Decimal | None = None
    # The fake provider's books, as the sandbox keeps them: what each authorization it
    # granted holds, and what was captured or voided on it (by key, so a retry is free).
    authorized: dict[str, Decimal] = field(default_factory=dict)
    settled: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    # Capture attempts the fake provider fails as "down" (retryable) before it answers.
    capture_unavailable: int = 0
    # When set, the fake ledger refuses every credit consumption with this reason.
    refuse_credit: str | None = None

    def left_on(self, authorization_id: str, key: str) -> Decimal | None:
        """What is left to capture or void on an authorization the fake granted, not
        counting ``key`` (a retry of it); None for one it did not grant (a shipment a test
        started alone), which the fake does not check."""
        if authorization_id not in self.authorized:
            return None
        done = self.settled.setdefault(authorization_id, {})
        spent = sum((v for k, v in done.items() if k != key), Decimal(0))
        return self.authorized[authorization_id] - spent

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def email_keys(self) -> list[str]:
        return [e.key for e in self.emails]

    def activities(self) -> list[Any]:
        world = self

        @activity.defn(name="inventory.allocate")
        async def allocate(req: AllocateRequest) -> AllocationDecision:
            world.calls.append(("allocate", req))
            if world.allocate_gate is not None:
                await world.allocate_gate.wait()
            lines, backordered = [], []
            for line in req.lines:
                have = world.stock.get(line.sku, 0)
                take = min(have, line.quantity)
                world.stock[line.sku] = have - take
                if take:
                    lines.append(SkuQuantity(sku=line.sku, quantity=take))
                if line.quantity - take:
                    backordered.append(SkuQuantity(sku=line.sku, quantity=line.quantity - take))
                    world.owed.append(Owed(line.sku, line.quantity - take, req.free))
            shipments = (
                [
                    PlannedShipment(
                        shipment_id=f"{req.order_id}-S{req.first_shipment_no}",
                        warehouse_id="WH-STO",
                        lines=lines,
                        ship_from=WAREHOUSE_ADDRESS,
                        free=req.free,
                    )
                ]
                if lines
                else []
            )
            return AllocationDecision(
                key=req.key,
                rule="nearest_complete" if not backordered else "split_by_distance",
                decided_at=datetime.now(UTC),
                shipments=shipments,
                backordered=backordered,
            )

        @activity.defn(name="inventory.claim_backorders")
        async def claim_backorders(req: BackorderCheck) -> BackorderFill:
            world.calls.append(("claim_backorders", req))
            # As the store: paid and free units in parcels of their own, paid first.
            filled: dict[bool, dict[str, int]] = {False: {}, True: {}}
            for sku, arrived in world.arrived.items():
                for owed in world.owed:
                    take = min(arrived, owed.open) if owed.sku == sku else 0
                    owed.open -= take
                    arrived -= take
                    filled[owed.free][sku] = filled[owed.free].get(sku, 0) + take
                filled[False][sku] = filled[False].get(sku, 0) + arrived
            world.arrived.clear()
            shipments = []
            for free in (False, True):
                lines = [SkuQuantity(sku=s, quantity=q) for s, q in filled[free].items() if q]
                if lines:
                    no = req.first_shipment_no + len(shipments)
                    shipments.append(
                        PlannedShipment(
                            shipment_id=f"{req.order_id}-S{no}",
                            warehouse_id="WH-STO",
                            lines=lines,
                            ship_from=WAREHOUSE_ADDRESS,
                            free=free,
                        )
                    )
            return BackorderFill(key=req.key, shipments=shipments, still_backordered=[])

        @activity.defn(name="inventory.release")
        async def release(req: ReleaseRequest) -> ReleaseResult:
            world.calls.append(("release", req))
            return ReleaseResult(released_units=1)

        @activity.defn(name="inventory.trim")
        async def trim(req: TrimReservation) -> ReleaseResult:
            world.calls.append(("trim", req))
            if req.shipment_id is None:
                # As the store: what is owed shrinks, units owed free first, newest first.
                mine = [o for o in world.owed if o.sku == req.sku]
                drop = sum(o.open for o in mine) - req.keep
                for owed in [*reversed([o for o in mine if o.free]), *reversed(mine)]:
                    take = min(max(drop, 0), owed.open)
                    owed.open -= take
                    drop -= take
            return ReleaseResult(released_units=0)

        @activity.defn(name="inventory.backorder")
        async def backorder(req: BackorderUnits) -> BackorderResult:
            world.calls.append(("backorder", req))
            # Owed like an allocation's units (a reship's short pick's at no charge).
            world.owed += [Owed(ln.sku, ln.quantity, req.free) for ln in req.lines]
            # Free stock elsewhere (``arrived``) fills the owed units at once: claim them.
            filled = any(world.arrived.get(ln.sku) for ln in req.lines)
            return BackorderResult(filled_orders=[req.order_id] if filled else [])

        @activity.defn(name="inventory.reallocate")
        async def reallocate(req: Reallocate) -> Reallocation:
            world.calls.append(("reallocate", req))
            decision = await allocate(req.as_allocation())
            world.calls.pop()  # recorded as the reallocation, not as an allocation
            return Reallocation(decision=decision)

        @activity.defn(name="inventory.consume")
        async def consume(req: ConsumeRequest) -> ConsumeResult:
            world.calls.append(("consume", req))
            return ConsumeResult(consumed_units=sum(li.quantity for li in req.lines))

        @activity.defn(name="orders.review_risk")
        async def review_risk(check: RiskCheck) -> RiskReview:
            world.calls.append(("review_risk", check))
            return RiskReview(findings=list(world.risk_findings))

        @activity.defn(name="orders.record_order")
        async def record_order(view: OrderView) -> RecordResult:
            world.orders[view.order_id] = view
            return RecordResult(written=True)

        @activity.defn(name="orders.record_views")
        async def record_views(write: ReadModelWrite) -> RecordResult:
            world.orders[write.order.order_id] = write.order
            world.order_writes.append(write.order)
            for shipment in write.shipments:  # placeholders: only where nothing is stored
                world.shipments.setdefault(shipment.shipment_id, shipment)
            return RecordResult(written=True)

        @activity.defn(name="orders.record_shipment")
        async def record_shipment(view: ShipmentView) -> RecordResult:
            world.shipments[view.shipment_id] = view
            return RecordResult(written=True)

        @activity.defn(name="carrier.quote_rates")
        async def quote_rates(req: RateRequest) -> RateQuote:
            world.calls.append(("quote_rates", req))
            if req.ship_to.postal_code in world.invalid_postcodes:
                raise ApplicationError("bad postcode", type="InvalidAddress", non_retryable=True)
            if req.ship_to.country in world.unserved_countries:
                raise ApplicationError(
                    unserved(req.ship_to.country), type="InvalidAddress", non_retryable=True
                )
            return RateQuote(
                rates=[
                    Rate(
                        carrier="sandbox",
                        service="standard",
                        price=Decimal("59.00"),
                        currency="SEK",
                        transit_days=2,
                        speed="standard",
                    ),
                    Rate(
                        carrier="sandbox",
                        service="express",
                        price=Decimal("129.00"),
                        currency="SEK",
                        transit_days=1,
                        speed="express",
                    ),
                ]
            )

        @activity.defn(name="carrier.buy_label")
        async def buy_label(req: LabelRequest) -> Label:
            world.calls.append(("buy_label", req))
            if world.label_gate is not None:
                await world.label_gate.wait()
            lacking = sorted({li.sku for li in req.lines} & world.customs_missing)
            if lacking:
                raise ApplicationError(
                    f"no HS code or origin for {', '.join(lacking)}",
                    type="CustomsDataMissing",
                    non_retryable=True,
                )
            return Label(
                label_id=f"L-{req.shipment_id}",
                tracking_number=f"TN{req.shipment_id}",
                carrier="sandbox",
                service=req.service,
                price=Decimal("59.00"),
                currency="SEK",
            )

        @activity.defn(name="carrier.void_label")
        async def void_label(req: VoidLabelRequest) -> VoidLabelResult:
            world.calls.append(("void_label", req))
            return VoidLabelResult(label_id=req.label_id, voided=True)

        @activity.defn(name="payments.authorize")
        async def authorize(req: AuthorizeRequest) -> Authorization:
            world.calls.append(("authorize", req))
            if world.authorize_gate is not None:
                await world.authorize_gate.wait()
            declined = req.token in world.decline_tokens
            declined = declined or (
                world.decline_over is not None and req.amount > world.decline_over
            )
            if not declined:
                world.authorized.setdefault(f"AUTH-{req.idempotency_key}", req.amount)
            return Authorization(
                authorization_id=f"AUTH-{req.idempotency_key}",
                status="declined" if declined else "authorized",
                amount=req.amount,
                currency=req.currency,
                decline_reason="card declined" if declined else None,
            )

        @activity.defn(name="payments.capture")
        async def capture(req: CaptureRequest) -> Capture:
            world.calls.append(("capture", req))
            if world.capture_unavailable > 0:
                world.capture_unavailable -= 1
                raise ApplicationError("provider down", type="PaymentUnavailable")
            left = world.left_on(req.authorization_id, req.idempotency_key)
            if left is not None:
                # As the sandbox: captures and voids never exceed what was authorized.
                if req.amount > left:
                    raise ApplicationError(
                        f"capture of {req.amount} exceeds the {left} left on "
                        f"{req.authorization_id}",
                        type="PaymentRejected",
                        non_retryable=True,
                    )
                world.settled[req.authorization_id][req.idempotency_key] = req.amount
            return Capture(
                capture_id=f"CAP-{req.idempotency_key}",
                authorization_id=req.authorization_id,
                amount=req.amount,
                currency=req.currency,
            )

        @activity.defn(name="payments.void_authorization")
        async def void_authorization(req: VoidAuthorizationRequest) -> VoidAuthorizationResult:
            world.calls.append(("void_authorization", req))
            left = world.left_on(req.authorization_id, req.idempotency_key)
            voided = None
            if left is not None:
                voided = left if req.amount is None else min(left, max(req.amount, Decimal(0)))
                world.settled[req.authorization_id][req.idempotency_key] = voided
            # A void of all that is left answers what that was, as the sandbox does.
            answer = req.amount or (voided if voided is not None else Decimal("1"))
            return VoidAuthorizationResult(
                authorization_id=req.authorization_id, voided_amount=answer
            )

        @activity.defn(name="email.send")
        async def send(req: EmailRequest) -> EmailResult:
            world.emails.append(req)
            return EmailResult(key=req.key, message_id=f"<{req.key}@oms>", already_sent=False)

        @activity.defn(name="quotes.price")
        async def price(req: PriceQuoteRequest) -> Proposal:
            world.calls.append(("price", req))
            try:
                return price_quote(
                    req.lines,
                    world.list_prices,
                    "silver",
                    req.overrides,
                    round=req.round,
                    by=req.by,
                    at=datetime.now(UTC),
                    comment=req.comment,
                    list_prices_only=req.list_prices_only,
                )
            except PricingError as exc:  # as the real activity: a non-retryable rejection
                raise rejected(exc) from exc

        @activity.defn(name="quotes.record_quote")
        async def record_quote(view: QuoteView) -> RecordResult:
            world.quotes[view.quote_id] = view
            return RecordResult(written=True)

        @activity.defn(name="credit.reserve")
        async def reserve_credit(req: ReserveCredit) -> CreditReservation:
            world.calls.append(("reserve_credit", req))
            ok = req.allow_over_limit or req.amount <= world.credit_available
            return CreditReservation(
                key=req.key,
                status="reserved" if ok else "over_limit",
                amount=req.amount,
                available_before=world.credit_available,
                over_limit_action=world.credit_over_limit_action,  # type: ignore[arg-type]
            )

        @activity.defn(name="credit.release")
        async def release_credit(req: ReleaseCredit) -> CreditMovement:
            world.calls.append(("release_credit", req))
            return CreditMovement(order_id=req.order_id, amount=Decimal("0"))

        @activity.defn(name="credit.consume")
        async def consume_credit(req: ConsumeCredit) -> CreditMovement:
            world.calls.append(("consume_credit", req))
            if world.refuse_credit is not None:  # as the ledger's InvalidCreditMovement
                raise ApplicationError(
                    world.refuse_credit, type="InvalidCreditMovement", non_retryable=True
                )
            return CreditMovement(order_id=req.order_id, amount=req.amount)

        @activity.defn(name="credit.credit_note")
        async def credit_note(req: CreditNoteRequest) -> CreditNoteIssued:
            world.calls.append(("credit_note", req))
            world.credit_notes.setdefault(req.key, req)
            if world.credit_note_unavailable > 0:
                # Issued, but the answer is lost: the activity is retried on the same key.
                world.credit_note_unavailable -= 1
                raise ApplicationError("ledger answer lost", type="OperationalError")
            if world.credit_note_room is not None:
                if req.amount > world.credit_note_room:
                    raise ApplicationError(
                        "more than invoiced", type="CreditNoteRefused", non_retryable=True
                    )
                world.credit_note_room -= req.amount
            return CreditNoteIssued(
                number=f"CN-{len(world.credit_notes):06d}",
                order_id=req.order_id,
                amount=req.amount,
                currency="SEK",
            )

        @activity.defn(name="returns.check_eligibility")
        async def check_eligibility(req: EligibilityRequest) -> EligibilityResult:
            world.calls.append(("check_eligibility", req))
            return EligibilityResult(
                eligible=True, return_warehouse_id="WH-STO", return_to=WAREHOUSE_ADDRESS
            )

        @activity.defn(name="returns.record_return")
        async def record_return(view: ReturnView) -> RecordResult:
            world.returns[view.rma_id] = view
            return RecordResult(written=True)

        @activity.defn(name="carrier.buy_return_label")
        async def buy_return_label(req: ReturnLabelRequest) -> Label:
            world.calls.append(("buy_return_label", req))
            return Label(
                label_id=f"RL-{req.rma_id}",
                tracking_number=f"SBR{req.rma_id}",
                carrier="sandbox",
                service="standard",
                price=Decimal("59.00"),
                currency="SEK",
            )

        def _receipt(req: StockMovement) -> StockReceipt:
            level = StockLevel(
                warehouse_id=req.warehouse_id, sku=req.sku, on_hand=0, reserved=0, available=0
            )
            return StockReceipt(stock=level, filled_orders=[])

        @activity.defn(name="inventory.restock")
        async def restock(req: StockMovement) -> StockReceipt:
            world.calls.append(("restock", req))
            return _receipt(req)

        @activity.defn(name="inventory.write_off")
        async def write_off(req: StockMovement) -> StockReceipt:
            world.calls.append(("write_off", req))
            return _receipt(req)

        @activity.defn(name="returns.refund_room")
        async def refund_room(req: RefundRoomRequest) -> RefundRoom:
            world.calls.append(("refund_room", req))
            return RefundRoom(
                order_id=req.order_id, captured=world.captured, refunded=world.refunded_elsewhere
            )

        @activity.defn(name="payments.refund")
        async def refund(req: RefundRequest) -> Refund:
            world.calls.append(("refund", req))
            key = req.idempotency_key
            # As a real provider does, a declined key keeps its answer: asking again on it
            # is declined again, whatever was fixed since.
            if (declined := world.declined_refunds.get(key)) is not None:
                raise ApplicationError(declined, type="RefundDeclined", non_retryable=True)
            why = None
            if any(f":refund:{sku}:" in f"{key}:" for sku in world.decline_refunds_for):
                why = "declined"
            elif world.captured is not None and key not in world.refunds:
                refunded = world.refunded_elsewhere + sum(
                    (r.amount for r in world.refunds.values()), Decimal("0.00")
                )
                if req.amount > world.captured - refunded:
                    why = (
                        f"refund of {req.amount} exceeds the {world.captured - refunded} left "
                        f"to refund on order {req.order_id}"
                    )
            if why is not None:
                world.declined_refunds[key] = why
                raise ApplicationError(why, type="RefundDeclined", non_retryable=True)
            world.refunds.setdefault(key, req)
            return Refund(
                refund_id=f"REF-{req.idempotency_key}",
                order_id=req.order_id,
                amount=req.amount,
                currency=req.currency,
            )

        return [
            check_eligibility,
            refund_room,
            record_return,
            buy_return_label,
            restock,
            write_off,
            refund,
            price,
            record_quote,
            reserve_credit,
            release_credit,
            consume_credit,
            credit_note,
            allocate,
            claim_backorders,
            release,
            trim,
            backorder,
            reallocate,
            consume,
            review_risk,
            record_order,
            record_views,
            record_shipment,
            quote_rates,
            buy_label,
            void_label,
            authorize,
            capture,
            void_authorization,
            send,
        ]
