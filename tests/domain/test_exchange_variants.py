"""Which other variants an exchange sends for what came back, without a server: units
received as ``wrong_item`` (or never received) are neither refunded nor replaced, so the
variants standing for them are not sent, and the value of what is sent is what the
price difference is settled on."""

from __future__ import annotations

from decimal import Decimal

from oms.domain.money import order_total
from oms.domain.returns import apply_receipt, exchange_value, exchanged_variants
from oms.models.common import Customer
from oms.models.orders import OrderLine
from oms.models.returns import Condition, ReceivedLine, ReturnLine, ReturnStatus, ReturnView


def returned(*lines: tuple[str, int, str]) -> list[ReturnLine]:
    return [
        ReturnLine(sku=sku, quantity=qty, reason="wrong_size", unit_price=Decimal(price))
        for sku, qty, price in lines
    ]


def variants(*lines: tuple[str, int, str]) -> list[OrderLine]:
    return [
        OrderLine(sku=sku, quantity=qty, unit_price=Decimal(price)) for sku, qty, price in lines
    ]


def received(lines: list[ReturnLine], *got: tuple[str, int, Condition]) -> list[ReturnLine]:
    return apply_receipt(
        lines, [ReceivedLine(sku=sku, quantity=qty, condition=c) for sku, qty, c in got]
    )


def sent(lines: list[ReturnLine], exchange_for: list[OrderLine]) -> list[tuple[str, int]] | None:
    chosen = exchanged_variants(lines, exchange_for)
    return None if chosen is None else [(ln.sku, ln.quantity) for ln in chosen]


def test_one_of_two_units_received_as_wrong_item_sends_one_variant() -> None:
    # The tester's A-2001: 2 x M for 2 x L, one M came back as a wrong item.
    lines = received(
        returned(("TSHIRT-BLK-M", 2, "249.00")),
        ("TSHIRT-BLK-M", 1, "resellable"),
        ("TSHIRT-BLK-M", 1, "wrong_item"),
    )
    exchange_for = variants(("TSHIRT-BLK-L", 2, "249.00"))
    chosen = exchanged_variants(lines, exchange_for)
    assert chosen == variants(("TSHIRT-BLK-L", 1, "249.00"))
    # The difference is settled on the same set: one L for the one M received, nothing.
    assert chosen is not None and order_total(chosen) == Decimal("249.00")


def test_a_return_received_whole_as_the_product_sends_everything_asked_for() -> None:
    # Damaged units are the product too (the merchant's risk): replaced. Other totals
    # than the return's are sent as asked, as before.
    lines = received(
        returned(("TSHIRT", 1, "249.00"), ("CAP", 1, "99.00")),
        ("TSHIRT", 1, "resellable"),
        ("CAP", 1, "damaged"),
    )
    assert sent(lines, variants(("HOODIE", 1, "699.00"))) == [("HOODIE", 1)]
    both = variants(("TSHIRT-L", 1, "249.00"), ("CAP-L", 1, "99.00"))
    assert sent(lines, both) == [("TSHIRT-L", 1), ("CAP-L", 1)]


def test_nothing_received_as_the_product_sends_nothing() -> None:
    lines = received(returned(("TSHIRT-BLK-M", 2, "249.00")), ("TSHIRT-BLK-M", 2, "wrong_item"))
    assert sent(lines, variants(("TSHIRT-BLK-L", 2, "249.00"))) == []


def test_units_are_paired_in_the_order_listed_across_several_skus() -> None:
    lines = returned(("A", 1, "100.00"), ("B", 2, "200.00"), ("C", 1, "50.00"))
    exchange_for = variants(("A2", 1, "110.00"), ("B2", 2, "210.00"), ("C2", 1, "60.00"))
    # B's second unit is a wrong item: B2 once; A and C are exchanged as asked.
    one_b = received(lines, ("A", 1, "resellable"), ("B", 1, "resellable"), ("B", 1, "wrong_item"))
    one_b = received(one_b, ("C", 1, "damaged"))
    assert sent(one_b, exchange_for) == [("A2", 1), ("B2", 1), ("C2", 1)]
    # A is the wrong item: no A2.
    no_a = received(lines, ("A", 1, "wrong_item"), ("B", 2, "resellable"), ("C", 1, "resellable"))
    assert sent(no_a, exchange_for) == [("B2", 2), ("C2", 1)]


def test_a_line_exchanged_for_two_variants_keeps_its_first_places() -> None:
    # 2 x M for one L and one XL: the one M received stands for the first unit asked for.
    lines = received(returned(("M", 2, "249.00")), ("M", 1, "wrong_item"), ("M", 1, "resellable"))
    assert sent(lines, variants(("L", 1, "249.00"), ("XL", 1, "299.00"))) == [("L", 1)]
    # Two lines for one variant line of as many units: the received line's share of it.
    two = received(
        returned(("M", 1, "249.00"), ("S", 1, "229.00")),
        ("M", 1, "wrong_item"),
        ("S", 1, "resellable"),
    )
    assert sent(two, variants(("L", 2, "249.00"))) == [("L", 1)]


def test_other_totals_with_units_not_replaced_have_no_match() -> None:
    lines = received(
        returned(("TSHIRT", 1, "249.00"), ("CAP", 1, "99.00")),
        ("TSHIRT", 1, "resellable"),
        ("CAP", 1, "wrong_item"),
    )
    assert exchanged_variants(lines, variants(("HOODIE", 1, "699.00"))) is None
    assert exchanged_variants(lines, variants(("HOODIE", 3, "699.00"))) is None


def test_units_that_never_arrived_are_not_replaced_either() -> None:
    lines = received(returned(("M", 3, "249.00")), ("M", 2, "resellable"))
    assert sent(lines, variants(("L", 3, "249.00"))) == [("L", 2)]


def test_the_exchange_value_is_what_was_sent() -> None:
    view = ReturnView(
        rma_id="RMA-1",
        order_id="O-1",
        status=ReturnStatus.CLOSED,
        resolution="exchange",
        customer=Customer(id="C-1", name="Anna", email="anna@example.com"),
        currency="SEK",
        lines=returned(("M", 2, "249.00")),
        exchange_for=variants(("L", 2, "249.00")),
        requested_at="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
        updated_at="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
    )
    assert exchange_value(view) == Decimal("498.00")
    assert "exchange_sent" not in view.model_dump()  # as views were before it existed
    view.exchange_sent = variants(("L", 1, "249.00"))
    assert exchange_value(view) == Decimal("249.00")
