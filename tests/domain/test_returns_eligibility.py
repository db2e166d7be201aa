"""Return rules without a server: eligibility, automatic authorization, what a receipt refunds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from oms.domain.returns import (
    apply_receipt,
    authorization_reason,
    check_eligibility,
    receipt_problems,
    refund_due,
    replacement_order,
    returned_so_far,
)
from oms.models.common import Address, Customer
from oms.models.orders import OrderLine
from oms.models.returns import (
    DeliveredLine,
    EligibilityRequest,
    Ineligibility,
    ReceivedLine,
    ReturnFacts,
    ReturnInput,
    ReturnLine,
    ReturnLineRequest,
    ReturnPolicy,
)

DELIVERED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def facts(**overrides: object) -> ReturnFacts:
    line = {
        "sku": "SHIRT",
        "ordered": 2,
        "delivered": 2,
        "unit_price": Decimal("300.00"),
        "delivered_at": DELIVERED,
        "returnable": True,
        "already_returned": 0,
    }
    line.update(overrides)
    return ReturnFacts(
        order_id="O-1",
        lines=[
            DeliveredLine.model_validate(line),
            DeliveredLine(
                sku="SOCKS",
                ordered=1,
                delivered=1,
                unit_price=Decimal("149.00"),
                delivered_at=DELIVERED,
            ),
        ],
    )


def ask(sku: str = "SHIRT", quantity: int = 1, reason: str = "wrong_size") -> ReturnLineRequest:
    return ReturnLineRequest.model_validate({"sku": sku, "quantity": quantity, "reason": reason})


def codes(problems: list[Ineligibility]) -> list[str]:
    return [p.code for p in problems]


def test_delivered_line_within_the_window_is_eligible() -> None:
    at = DELIVERED + timedelta(days=29)
    assert check_eligibility(facts(), [ask(quantity=2), ask("SOCKS")], at, 30) == []


def test_window_closes_thirty_days_after_delivery() -> None:
    at = DELIVERED + timedelta(days=30, seconds=1)
    [problem] = check_eligibility(facts(), [ask()], at, 30)
    assert problem.code == "window_closed" and problem.line == 0
    assert "2025-03-31" in problem.message
    assert check_eligibility(facts(), [ask()], at, 60) == []


def test_undelivered_line_is_not_eligible() -> None:
    problems = check_eligibility(facts(delivered=0, delivered_at=None), [ask()], DELIVERED, 30)
    assert codes(problems) == ["not_delivered"]


def test_non_returnable_product_is_refused() -> None:
    problems = check_eligibility(facts(returnable=False), [ask()], DELIVERED, 30)
    assert codes(problems) == ["not_returnable"]


def test_quantity_is_limited_to_delivered_minus_already_returned() -> None:
    problems = check_eligibility(facts(already_returned=1), [ask(quantity=2)], DELIVERED, 30)
    assert codes(problems) == ["quantity_too_high"]
    assert "only 1 can still be returned" in problems[0].message
    assert check_eligibility(facts(already_returned=1), [ask(quantity=1)], DELIVERED, 30) == []


def test_sku_not_on_the_order_and_duplicate_lines_are_named_per_line() -> None:
    problems = check_eligibility(facts(), [ask("HAT"), ask("SOCKS"), ask("SOCKS")], DELIVERED, 30)
    assert [(p.code, p.line) for p in problems] == [("not_on_order", 0), ("duplicate_line", 2)]


def test_missing_order_is_one_problem() -> None:
    missing = ReturnFacts(order_id="O-9", found=False)
    assert codes(check_eligibility(missing, [ask()], DELIVERED, 30)) == ["order_not_found"]


def line(reason: str = "changed_mind", price: str = "300.00", qty: int = 1) -> ReturnLine:
    return ReturnLine.model_validate(
        {"sku": "SHIRT", "quantity": qty, "reason": reason, "unit_price": price}
    )


def test_cheap_returns_and_allow_listed_reasons_are_authorized_automatically() -> None:
    policy = ReturnPolicy(auto_authorize_under=Decimal("2000.00"))
    assert authorization_reason([line()], policy) is not None
    assert authorization_reason([line(price="2500.00")], policy) is None
    assert "wrong_size" in (authorization_reason([line("wrong_size", "2500.00")], policy) or "")
    mixed = [line("wrong_size", "2500.00"), line("changed_mind", "10.00")]
    assert authorization_reason(mixed, policy) is None


def test_receipt_refunds_resellable_and_damaged_units_but_not_wrong_items() -> None:
    [got] = apply_receipt(
        [line(qty=3)],
        [
            ReceivedLine(sku="SHIRT", quantity=1, condition="resellable"),
            ReceivedLine(sku="SHIRT", quantity=1, condition="damaged"),
            ReceivedLine(sku="SHIRT", quantity=1, condition="wrong_item"),
        ],
    )
    assert (got.received_resellable, got.received_damaged, got.received_wrong_item) == (1, 1, 1)
    assert refund_due(got) == Decimal("600.00")


def test_short_receipt_refunds_only_what_arrived_and_oversupply_is_refused() -> None:
    [got] = apply_receipt(
        [line(qty=2)], [ReceivedLine(sku="SHIRT", quantity=1, condition="resellable")]
    )
    assert refund_due(got) == Decimal("300.00")
    assert receipt_problems(
        [line(qty=1)], [ReceivedLine(sku="SHIRT", quantity=2, condition="damaged")]
    )
    assert receipt_problems([line()], [ReceivedLine(sku="HAT", quantity=1, condition="damaged")])


def test_prior_returns_hold_back_what_they_asked_until_received_and_nothing_when_void() -> None:
    asked = line(qty=2)
    assert returned_so_far("awaiting_receipt", asked) == 2
    assert returned_so_far("rejected", asked) == 0
    assert returned_so_far("expired", asked) == 0
    [short] = apply_receipt(
        [asked], [ReceivedLine(sku="SHIRT", quantity=1, condition="resellable")]
    )
    assert returned_so_far("closed", short) == 1


def started_return() -> ReturnInput:
    return ReturnInput(
        rma_id="RMA-1",
        order_id="O-1",
        customer=Customer(id="C-1", name="Anna", email="anna@example.com"),
        currency="SEK",
        ship_to=Address(
            name="Anna", line1="Gatan 1", postal_code="111 22", city="Stockholm", country="SE"
        ),
        lines=[line(reason="wrong_size", qty=2)],
        resolution="exchange",
        requested_at=DELIVERED + timedelta(days=3),
    )


def test_the_store_checks_a_started_return_as_asked_within_its_window() -> None:
    inp = started_return()
    request = EligibilityRequest.of(inp)
    assert request.lines == [ask("SHIRT", 2, "wrong_size")]
    assert (request.rma_id, request.order_id, request.at) == ("RMA-1", "O-1", inp.requested_at)
    assert request.window_days == inp.options.policy.window_days


def test_a_replacement_order_is_sent_on_the_exchange_channel_and_charges_nothing() -> None:
    inp = started_return()
    lines = [OrderLine(sku="SHIRT", quantity=2, unit_price=Decimal("0.00"))]
    order = replacement_order(inp, "O-1-X", lines, DELIVERED + timedelta(days=9))
    assert (order.order_id, order.channel, order.payment.method) == (
        "O-1-X",
        "exchange",
        "exchange",
    )
    assert (order.customer, order.ship_to, order.lines) == (inp.customer, inp.ship_to, lines)
    assert order.options == inp.options.order_options
