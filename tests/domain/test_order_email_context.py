"""What an order's emails are told of its parcels: delivered, or settled by a claim (with
its refund or its replacement), from the view alone."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from oms.domain.order_emails import PAYMENT_NOT_COMPLETED
from oms.models.common import Address, Customer, HistoryEntry, SkuQuantity
from oms.models.order_changes import ShipmentClaim
from oms.models.orders import OrderInput, OrderLine, OrderView, PaymentDetails, ShipmentSummary
from oms.views.orders import cancelled_why, claim_context, email_context, received

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _view(locale: str = "sv") -> OrderView:
    return received(
        OrderInput(
            order_id="E-1",
            channel="web",
            customer=Customer(id="C-1", name="Anna", email="anna@example.com", locale=locale),
            currency="SEK",
            lines=[
                OrderLine(sku="CAP", quantity=1, unit_price=Decimal("149.00")),
                OrderLine(sku="MUG", quantity=2, unit_price=Decimal("99.00")),
            ],
            ship_to=Address(
                name="Anna",
                line1="Storgatan 1",
                postal_code="111 22",
                city="Stockholm",
                country="SE",
            ),
            payment=PaymentDetails(token="tok_visa"),
            placed_at=NOW,
        )
    )


def _parcel(shipment_id: str, status: str, *lines: tuple[str, int]) -> ShipmentSummary:
    return ShipmentSummary(
        shipment_id=shipment_id,
        warehouse_id="WH-STO",
        lines=[SkuQuantity(sku=sku, quantity=n) for sku, n in lines],
        status=status,
    )


def _claim(shipment_id: str, resolution: str, **outcome: object) -> ShipmentClaim:
    return ShipmentClaim(
        at=NOW,
        by="support-1",
        shipment_id=shipment_id,
        kind="lost",
        resolution=resolution,  # type: ignore[arg-type]
        **outcome,  # type: ignore[arg-type]
    )


def test_a_refunded_parcel_is_a_claim_not_a_delivery() -> None:
    view = _view()
    view.shipments = [
        _parcel("E-1-S1", "claimed", ("CAP", 1)),
        _parcel("E-1-S2", "delivered", ("MUG", 2)),
    ]
    view.claims = [_claim("E-1-S1", "refund", refunded=Decimal("149.00"), refund_id="R-1")]

    context = email_context(view)

    assert context["delivered"] == [
        {"shipment_id": "E-1-S2", "parcel": [{"sku": "MUG", "quantity": 2}]}
    ]
    assert context["claims"] == [
        {
            "shipment_id": "E-1-S1",
            "kind": "lost",
            "resolution": "refund",
            "parcel": [{"sku": "CAP", "quantity": 1}],
            "amount": "149,00 SEK",
            "reshipped_as": [],
            "owed": [],
        }
    ]


def test_a_damaged_parcel_delivered_then_claimed_is_not_listed_as_delivered() -> None:
    view = _view("en")
    view.shipments = [_parcel("E-1-S1", "delivered", ("CAP", 1))]
    view.claims = [_claim("E-1-S1", "refund", refunded=Decimal("149.00"))]
    context = email_context(view)
    assert context["delivered"] == []
    assert context["claims"][0]["amount"] == "SEK 149.00"


def test_a_reship_names_its_parcels_and_what_no_warehouse_had() -> None:
    view = _view()
    view.shipments = [
        _parcel("E-1-S1", "claimed", ("CAP", 1), ("MUG", 2)),
        _parcel("E-1-S2", "picking", ("MUG", 1)),
    ]
    claim = _claim("E-1-S1", "reship", reshipped_as=["E-1-S2"])
    view.claims = [claim]

    context = claim_context(view, claim)

    assert (context["reshipped_as"], context["amount"]) == (["E-1-S2"], "")
    assert context["owed"] == [{"sku": "CAP", "quantity": 1}, {"sku": "MUG", "quantity": 1}]


def test_an_order_without_claims_tells_every_email_nothing_new() -> None:
    context = email_context(_view())
    assert (context["delivered"], context["claims"]) == ([], [])


def _cancelled(view: OrderView, reason: str, by: str | None, note_by: str) -> OrderView:
    view.cancel_reason = reason
    note = f"Cancelled by {note_by}: {reason}"
    view.history.append(HistoryEntry(at=NOW, status="cancelled", note=note, by=by))
    return view


def test_a_resent_cancel_email_words_the_systems_reason_as_the_first_one_did() -> None:
    system = _cancelled(_view(), PAYMENT_NOT_COMPLETED, "system", "system")
    told = {"why": "payment_not_completed", "customer_note": PAYMENT_NOT_COMPLETED}
    assert cancelled_why(system) == told
    # An 0.1 order's history line names who only in its note.
    legacy = _cancelled(_view(), PAYMENT_NOT_COMPLETED, None, "system")
    assert cancelled_why(legacy) == told
    # A person's reason, even in the same words, is theirs and internal; an order not
    # cancelled has none.
    person = _cancelled(_view(), PAYMENT_NOT_COMPLETED, "support-1", "support-1")
    assert cancelled_why(person) == {}
    assert cancelled_why(_view()) == {}


def test_a_resent_cancel_email_gives_the_note_the_first_one_gave_never_the_reason() -> None:
    person = _cancelled(_view(), "fraud suspected", "ops:dev-ops", "ops:dev-ops")
    person.cancel_note = "we could not verify the payment"
    assert cancelled_why(person) == {"customer_note": "we could not verify the payment"}
