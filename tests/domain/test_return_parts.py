"""A return received in parts, without a server: what a later parcel may bring, what is
still missing, the keys each parcel's effects use, and what an open partial return holds."""

from __future__ import annotations

from decimal import Decimal

from oms.domain import lifecycle
from oms.domain.returns import (
    apply_receipt,
    credited_units,
    missing_note,
    missing_units,
    receipt_key,
    receipt_problems,
    refund_due,
    returned_so_far,
)
from oms.models.returns import Condition, ReceivedLine, ReturnLine


def lines() -> list[ReturnLine]:
    return [
        ReturnLine(sku="SHIRT", quantity=3, reason="wrong_size", unit_price=Decimal("300.00")),
        ReturnLine(sku="CAP", quantity=1, reason="wrong_size", unit_price=Decimal("99.00")),
    ]


def got(sku: str, quantity: int, condition: Condition = "resellable") -> ReceivedLine:
    return ReceivedLine(sku=sku, quantity=quantity, condition=condition)


def test_a_first_parcel_with_fewer_units_leaves_the_rest_missing() -> None:
    first = apply_receipt(lines(), [got("SHIRT", 2)])
    assert missing_units(first) == {"SHIRT": 1, "CAP": 1}
    assert missing_note(missing_units(first)) == "1 x SHIRT, 1 x CAP"
    assert missing_units(apply_receipt(first, [got("SHIRT", 1), got("CAP", 1)])) == {}


def test_a_wrong_item_counts_as_arrived() -> None:
    """A wrong item fills its unit of the line (it goes to manual review), as a whole parcel's
    wrong items always have."""
    assert missing_units(apply_receipt(lines(), [got("SHIRT", 3, "wrong_item")])) == {"CAP": 1}


def test_a_later_parcel_may_bring_only_what_is_still_to_come() -> None:
    first = apply_receipt(lines(), [got("SHIRT", 2)])
    assert receipt_problems(first, [got("SHIRT", 1), got("CAP", 1)]) == []
    assert receipt_problems(first, [got("SHIRT", 2)]) == [
        "2 x SHIRT received but only 1 of the 3 authorized are still to come (2 already received)"
    ]
    # Two lines of one SKU in a parcel count together.
    assert receipt_problems(first, [got("SHIRT", 1), got("SHIRT", 1, "damaged")])
    assert receipt_problems(first, [got("HAT", 1)]) == ["HAT is not on this return"]


def test_a_first_parcel_is_checked_as_before() -> None:
    assert receipt_problems(lines(), [got("SHIRT", 4)]) == [
        "4 x SHIRT received but only 3 were to be returned"
    ]


def test_the_first_parcel_keeps_its_keys_and_later_ones_carry_their_number() -> None:
    assert receipt_key("RMA-1", "refund", "SHIRT", 1) == "RMA-1:refund:SHIRT"
    assert receipt_key("RMA-1", "refund", "SHIRT", 2) == "RMA-1:refund:SHIRT:r2"
    assert receipt_key("RMA-1", "restock", "CAP", 3) == "RMA-1:restock:CAP:r3"
    # A retried refund asks on a new key: the declined one would answer its decline again.
    assert receipt_key("RMA-1", "refund", "SHIRT", 1, retry=1) == "RMA-1:refund:SHIRT:retry-1"
    assert receipt_key("RMA-1", "refund", "SHIRT", 2, retry=2) == "RMA-1:refund:SHIRT:r2:retry-2"


def test_the_refund_of_a_line_adds_up_over_its_parcels() -> None:
    first = apply_receipt(lines(), [got("SHIRT", 1)])
    both = apply_receipt(first, [got("SHIRT", 1, "damaged"), got("SHIRT", 1, "wrong_item")])
    assert refund_due(first[0]) == Decimal("300.00")
    assert refund_due(both[0]) == Decimal("600.00")  # the wrong item is not refunded


def test_a_partially_received_return_still_holds_what_may_come() -> None:
    """Another return of the same units is not possible while this one waits for them."""
    [shirt, _] = apply_receipt(lines(), [got("SHIRT", 1), got("SHIRT", 1, "wrong_item")])
    assert returned_so_far("partially_received", shirt) == 2  # 1 arrived, 1 may come
    assert returned_so_far("closed", shirt) == 1


def test_partially_received_waits_for_the_customer_on_the_receipt_clock() -> None:
    step = lifecycle.RETURN.step("partially_received")
    awaiting = lifecycle.RETURN.step("awaiting_receipt")
    assert (step.stage, step.waiting_for, step.clock) == (
        awaiting.stage,
        awaiting.waiting_for,
        awaiting.clock,
    )
    assert not step.terminal


def test_a_credit_note_counts_the_whole_units_its_amount_makes() -> None:
    assert credited_units(Decimal("1130.00"), Decimal("565.00")) == 2
    assert credited_units(Decimal("565.00"), Decimal("565.00")) == 1
    assert credited_units(Decimal("500.00"), Decimal("565.00")) is None  # capped
    assert credited_units(Decimal("10.00"), Decimal("0.00")) is None
