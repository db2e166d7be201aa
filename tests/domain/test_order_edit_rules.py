"""Edit and short-pick rules: an edit's new lines and what it changed; what a pick lacks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms.domain.order_changes import (
    ChangeRefused,
    check_pick,
    edit_changes,
    edited_lines,
    short_of,
)
from oms.models.common import Address, SkuQuantity
from oms.models.order_changes import EditLine
from oms.models.orders import OrderLine
from oms.models.shipments import ShipmentLine

LINES = [
    OrderLine(sku="TSHIRT", quantity=2, unit_price=Decimal("199.00")),
    OrderLine(sku="CAP", quantity=1, unit_price=Decimal("99.00")),
]
HOME = Address(name="A", line1="Gatan 1", postal_code="111 21", city="Stockholm", country="SE")
MOVED = HOME.model_copy(update={"postal_code": "411 04", "city": "Göteborg"})


def test_an_edit_sets_quantities_drops_zeros_and_adds_at_catalogue_price() -> None:
    edits = [EditLine(sku="TSHIRT", quantity=3), EditLine(sku="CAP", quantity=0)]
    edits.append(EditLine(sku="SOCKS", quantity=2))
    after = edited_lines(LINES, edits, {"SOCKS": Decimal("49.00")})
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in after] == [
        ("TSHIRT", 3, Decimal("199.00")),
        ("SOCKS", 2, Decimal("49.00")),
    ]
    assert edit_changes(LINES, after, (HOME, MOVED), ("standard", "express")) == [
        "TSHIRT 2 -> 3",
        "CAP 1 -> 0",
        "SOCKS 0 -> 2",
        "ship to A, Gatan 1, 411 04 Göteborg, SE",
        "shipping standard -> express",
    ]


def test_an_edit_that_empties_the_order_or_adds_an_unpriced_sku_is_refused() -> None:
    with pytest.raises(ChangeRefused) as empty:
        edited_lines(
            LINES, [EditLine(sku="TSHIRT", quantity=0), EditLine(sku="CAP", quantity=0)], {}
        )
    assert empty.value.kind == "WholeOrder"
    with pytest.raises(ChangeRefused) as unknown:
        edited_lines(LINES, [EditLine(sku="SOCKS", quantity=1)], {})
    assert unknown.value.kind == "UnknownSku"


def test_an_edit_that_changes_nothing_has_no_changes() -> None:
    same = edited_lines(LINES, [EditLine(sku="TSHIRT", quantity=2)], {})
    assert edit_changes(LINES, same, (HOME, HOME), ("standard", "standard")) == []


ASKED = [
    ShipmentLine(sku="TSHIRT", quantity=3, unit_price=Decimal("199.00")),
    ShipmentLine(sku="CAP", quantity=1, unit_price=Decimal("99.00")),
]


def test_a_short_pick_lacks_what_was_not_picked() -> None:
    picked = [SkuQuantity(sku="TSHIRT", quantity=2)]
    check_pick(ASKED, picked)
    assert short_of(ASKED, picked) == [
        SkuQuantity(sku="TSHIRT", quantity=1),
        SkuQuantity(sku="CAP", quantity=1),
    ]
    assert (
        short_of(ASKED, [SkuQuantity(sku="TSHIRT", quantity=3), SkuQuantity(sku="CAP", quantity=1)])
        == []
    )


@pytest.mark.parametrize(
    ("picked", "why"),
    [
        ([SkuQuantity(sku="SOCKS", quantity=1)], "lines[0]: the shipment has no SOCKS"),
        ([SkuQuantity(sku="TSHIRT", quantity=4)], "lines[0]: 4 TSHIRT picked, only 3 asked"),
        (
            [SkuQuantity(sku="CAP", quantity=1), SkuQuantity(sku="CAP", quantity=1)],
            "lines[1]: CAP is named twice",
        ),
        ([], "nothing picked"),
    ],
)
def test_a_pick_that_is_not_part_of_the_parcel_is_refused(
    picked: list[SkuQuantity], why: str
) -> None:
    with pytest.raises(ValueError, match=why.replace("[", r"\[").replace("]", r"\]")):
        check_pick(ASKED, picked)
