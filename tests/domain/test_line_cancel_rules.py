"""Line cancellation rules: which units a cancellation takes, and what it refuses."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms.domain.order_changes import (
    ChangeRefused,
    ShipmentCut,
    changed_total,
    cut_lines,
    plan_line_cancel,
)
from oms.models.common import SkuQuantity
from oms.models.orders import OrderLine, ShipmentSummary

LINES = [
    OrderLine(sku="TSHIRT", quantity=5, unit_price=Decimal("199.00")),
    OrderLine(sku="CAP", quantity=1, unit_price=Decimal("99.50")),
]


def _ship(no: int, status: str, **units: int) -> ShipmentSummary:
    return ShipmentSummary(
        shipment_id=f"O-1-S{no}",
        warehouse_id="WH-STO",
        lines=[SkuQuantity(sku=sku, quantity=q) for sku, q in units.items()],
        status=status,
    )


def _owed(**units: int) -> list[SkuQuantity]:
    return [SkuQuantity(sku=sku, quantity=q) for sku, q in units.items()]


def _refusal(*args: object) -> tuple[str, str]:
    with pytest.raises(ChangeRefused) as info:
        plan_line_cancel(*args)  # type: ignore[arg-type]
    return info.value.kind, str(info.value)


def test_owed_units_go_first_then_the_newest_shipment_that_has_not_shipped() -> None:
    shipments = [_ship(1, "picking", TSHIRT=1, CAP=1), _ship(2, "picking", TSHIRT=2)]
    plan = plan_line_cancel("TSHIRT", 4, LINES, _owed(TSHIRT=2), shipments)
    assert (plan.from_backorder, plan.owed_keep) == (2, 0)
    assert plan.cuts == [ShipmentCut("O-1-S2", 2, keep=0, whole=True)]


def test_a_shipment_keeps_its_other_lines_and_is_not_whole() -> None:
    shipments = [_ship(1, "picking", TSHIRT=5, CAP=1)]
    plan = plan_line_cancel("TSHIRT", 5, LINES, [], shipments)
    assert (plan.from_backorder, plan.cuts) == (0, [ShipmentCut("O-1-S1", 5, keep=0, whole=False)])


def test_part_of_the_owed_units_stays_owed() -> None:
    plan = plan_line_cancel("TSHIRT", 1, LINES, _owed(TSHIRT=3), [_ship(1, "shipped", TSHIRT=2)])
    assert (plan.from_backorder, plan.owed_keep, plan.cuts) == (1, 2, [])


def test_more_units_than_the_line_has_is_too_many_not_too_late() -> None:
    shipments = [_ship(1, "picking", TSHIRT=5, CAP=1)]
    kind, message = _refusal("TSHIRT", 6, LINES, [], shipments)
    assert (kind, message) == ("TooManyUnits", "the order has 5 unit(s) of TSHIRT, not 6")


def test_shipped_units_cannot_be_cancelled_and_the_refusal_names_the_shipment() -> None:
    shipments = [_ship(1, "shipped", TSHIRT=4, CAP=1), _ship(2, "picking", TSHIRT=1)]
    kind, message = _refusal("TSHIRT", 2, LINES, [], shipments)
    assert kind == "TooLateToCancelLine"
    assert (
        message == "only 1 of 5 unit(s) of TSHIRT can still be cancelled "
        "(O-1-S1 shipped or is being shipped)"
    )


def test_an_unknown_line_is_refused() -> None:
    assert (
        _refusal("SOCKS", 1, LINES, [], [_ship(1, "picking", TSHIRT=5, CAP=1)])[0] == "UnknownLine"
    )


def test_cancelling_everything_left_before_anything_shipped_is_a_whole_order_cancel() -> None:
    one_line = LINES[:1]
    kind, message = _refusal(
        "TSHIRT", 5, one_line, _owed(TSHIRT=2), [_ship(1, "picking", TSHIRT=3)]
    )
    assert kind == "WholeOrder" and "cancel the order instead" in message


def test_cancelling_the_rest_after_a_parcel_shipped_is_a_line_cancel() -> None:
    shipments = [_ship(1, "shipped", CAP=1), _ship(2, "picking", TSHIRT=5)]
    plan = plan_line_cancel("TSHIRT", 5, LINES, [], shipments)
    assert plan.cuts == [ShipmentCut("O-1-S2", 5, keep=0, whole=True)]


def test_cut_lines_drops_a_line_at_zero_and_the_total_follows() -> None:
    after = cut_lines(LINES, "TSHIRT", 2)
    assert [(ln.sku, ln.quantity) for ln in after] == [("TSHIRT", 3), ("CAP", 1)]
    assert changed_total(after) == Decimal("696.50")
    assert [ln.sku for ln in cut_lines(LINES, "CAP", 1)] == ["TSHIRT"]
