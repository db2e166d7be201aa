"""An edit that moves an order to another country or changes its speed costs what the same
order placed there costs: shipping for the new zone and speed, every line taxed as the new
destination taxes it (the same pricing ``POST /orders`` uses, ``starters.api.pricing``),
and the money step of any edit that changes the total.

Before: the order kept its old shipping charge and the old country's VAT (an edit from
Stockholm to New York kept 547.00 SEK with 25 % VAT and 49.00 shipping; placed there
directly it costs 797.00, a zero-rated export with 299.00 shipping), and express shipping
for the price of standard.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from activities.adapters.email_smtp import SmtpMailer
from oms.domain.auth import Principal
from oms.models.common import Address, Customer
from oms.models.money import OrderTotals, TaxClass
from oms.models.order_changes import EditLine, EditOrder
from oms.models.orders import (
    OrderInput,
    OrderLineIn,
    OrderStatus,
    OrderView,
    PlaceOrder,
    ShippingSpeed,
)
from oms.settings import Settings
from starters.api.pricing import destination_pricing, price_order
from tests.workflows.harness import Harness, tick
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.timeout(120)

STOCKHOLM = Address(
    name="Bo", line1="Drottninggatan 53", postal_code="111 21", city="Stockholm", country="SE"
)
BERLIN = Address(
    name="Bo", line1="Unter den Linden 1", postal_code="10117", city="Berlin", country="DE"
)
NEW_YORK = Address(
    name="Bo",
    line1="350 Fifth Avenue",
    postal_code="10118",
    city="New York",
    country="US",
    region="NY",
    phone="+1 212 555 0100",
)
CATALOGUE: dict[str, tuple[Decimal | None, TaxClass]] = {"TSHIRT": (Decimal("249.00"), "standard")}
BUYER = Principal(subject="dev-buyer-C-77", role="buyer", customer_id="C-77")
D = Decimal


def _body(ship_to: Address, speed: ShippingSpeed = "standard") -> PlaceOrder:
    return PlaceOrder(
        channel="web",
        customer=Customer(id="C-77", name="Bo Berg", email="bo@example.com", locale="sv-SE"),
        currency="SEK",
        lines=[OrderLineIn(sku="TSHIRT", quantity=2)],
        ship_to=ship_to,
        shipping_speed=speed,
    )


def _placed(inp: OrderInput, ship_to: Address, speed: ShippingSpeed = "standard") -> OrderTotals:
    """What ``POST /orders`` charges for the same order placed to ``ship_to`` at ``speed``."""
    priced = price_order(
        _body(ship_to, speed), BUYER, dict(CATALOGUE), Settings(), inp.placed_at.date()
    )
    return priced.totals


async def _start(harness: Harness) -> tuple[OrderInput, WorkflowHandle[Any, Any]]:
    """The walkthrough's order: two T-shirts to Stockholm, priced as POST /orders prices it."""
    inp = harness.order_input(f"E-{uuid.uuid4().hex[:6]}")
    priced = price_order(_body(STOCKHOLM), BUYER, dict(CATALOGUE), Settings(), inp.placed_at.date())
    inp.customer, inp.lines, inp.totals = _body(STOCKHOLM).customer, priced.lines, priced.totals
    inp.price_source = priced.source
    handle = await harness.start(inp)
    for _ in range(200):
        if (await handle.query(OrderWorkflow.state)).status == OrderStatus.PICKING:
            return inp, handle
        await tick()
    raise AssertionError("never picking")


def _edit(
    view: OrderView, ship_to: Address | None = None, speed: ShippingSpeed | None = None
) -> EditOrder:
    """The edit as the API sends it: the destination's pricing looked up from the OMS's tables."""
    pricing = destination_pricing(
        Settings(),
        view,
        (ship_to or view.ship_to).country,
        speed or view.shipping_speed,
        {"TSHIRT": "standard"},
    )
    return EditOrder(
        ship_to=ship_to, shipping_speed=speed, reason="moved", by="dev-buyer-C-77", pricing=pricing
    )


def _money(view: OrderView) -> tuple[Any, ...]:
    return (view.total, view.subtotal, view.shipping, view.tax, view.tax_total, view.tax_treatment)


def _as_placed(totals: OrderTotals) -> tuple[Any, ...]:
    return (
        totals.total,
        totals.subtotal,
        totals.shipping,
        totals.tax,
        totals.tax_total,
        totals.treatment,
    )


def _calls(harness: Harness, name: str) -> list[Any]:
    return [req for n, req in harness.world.calls if n == name]


@pytest.mark.parametrize(
    ("to", "total", "shipping", "treatment", "rates"),
    [
        (BERLIN, D("647.00"), D("149.00"), "vat", [D(19)]),
        (NEW_YORK, D("797.00"), D("299.00"), "export", [D(0)]),
    ],
    ids=["SE->DE", "SE->US"],
)
async def test_a_new_country_reprices_shipping_and_vat_as_a_direct_placement(
    harness: Harness,
    to: Address,
    total: Decimal,
    shipping: Decimal,
    treatment: str,
    rates: list[Decimal],
) -> None:
    inp, handle = await _start(harness)
    before = await handle.query(OrderWorkflow.state)
    assert (before.total, before.shipping, [t.rate for t in before.tax]) == (
        D("547.00"),
        D("49.00"),
        [D(25)],
    )

    view = await handle.execute_update(OrderWorkflow.edit, _edit(before, ship_to=to))

    direct = _placed(inp, to)
    assert _money(view) == _as_placed(direct)
    assert (view.total, view.shipping, view.tax_treatment) == (total, shipping, treatment)
    assert [t.rate for t in view.tax] == rates
    assert [ln.tax_rate for ln in view.lines] == [a.rate for a in direct.lines]
    assert (
        view.subtotal is not None and view.subtotal + view.shipping == view.total
    )  # consumer prices include VAT
    # The money step of any edit that raises the total: the whole new total authorized anew.
    [edit] = view.edits
    assert (edit.total_before, edit.total_after) == (D("547.00"), total)
    [_, auth] = _calls(harness, "authorize")
    assert (auth.amount, auth.idempotency_key) == (total, f"{inp.order_id}:edit-authorize:1")
    assert f"total 547.00 -> {total} SEK (new authorization" in view.history[-1].note

    # The new parcel charges the new price: lines as re-taxed, the new shipping with them.
    await harness.deliver(f"{inp.order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    [capture] = _calls(harness, "capture")
    assert capture.amount == total


async def test_express_costs_what_express_costs(harness: Harness) -> None:
    inp, handle = await _start(harness)
    before = await handle.query(OrderWorkflow.state)

    view = await handle.execute_update(OrderWorkflow.edit, _edit(before, speed="express"))

    direct = _placed(inp, STOCKHOLM, "express")
    assert _money(view) == _as_placed(direct)
    assert (view.total, view.shipping, view.shipping_speed) == (D("597.00"), D("99.00"), "express")
    assert [(t.rate, t.net, t.tax) for t in view.tax] == [(D(25), D("477.60"), D("119.40"))]
    assert view.edits[0].changes == ["shipping standard -> express"]
    assert "total 547.00 -> 597.00 SEK" in view.history[-1].note
    # The customer's email says it in Swedish, with the new shipping charge.
    [email] = [e for e in harness.world.emails if e.template == "order_changed"]
    assert email.context["change_list"] == [
        {"kind": "speed", "before": "standard", "after": "express"}
    ]
    text = (
        SmtpMailer("127.0.0.1", 1, "orders@oms.example")
        .render(email.template, email.locale, email.context)
        .text
    )
    assert "  - Leveranssätt: standardleverans → expressleverans\n" in text
    assert "Frakt: 99" in text and "Moms 25 %" in text


async def test_a_move_back_home_lowers_the_total_and_releases_the_difference(
    harness: Harness,
) -> None:
    inp, handle = await _start(harness)
    moved = await handle.execute_update(
        OrderWorkflow.edit, _edit(await handle.query(OrderWorkflow.state), ship_to=NEW_YORK)
    )
    assert moved.total == D("797.00")

    # Priced from the order as re-priced: a later edit of its lines keeps the export.
    view = await handle.execute_update(
        OrderWorkflow.edit,
        EditOrder(
            lines=[EditLine(sku="TSHIRT", quantity=1)], reason="one is enough", by="support-1"
        ),
    )
    assert (view.total, view.shipping, view.tax_treatment) == (D("548.00"), D("299.00"), "export")

    view = await handle.execute_update(OrderWorkflow.edit, _edit(view, ship_to=STOCKHOLM))
    direct = price_order(
        PlaceOrder(
            **{**_body(STOCKHOLM).model_dump(), "lines": [{"sku": "TSHIRT", "quantity": 1}]}
        ),
        BUYER,
        dict(CATALOGUE),
        Settings(),
        inp.placed_at.date(),
    ).totals
    assert _money(view) == _as_placed(direct)
    assert view.total == D("298.00")
    assert view.edits[-1].released == D("250.00")
    [*_, void] = _calls(harness, "void_authorization")
    assert (void.amount, void.idempotency_key) == (D("250.00"), f"{inp.order_id}:edit-release:3")
    assert "total 548.00 -> 298.00 SEK (250.00 SEK of the authorization released)" in (
        view.history[-1].note
    )


async def test_an_edit_priced_for_another_destination_is_refused_unchanged(
    harness: Harness,
) -> None:
    """The API priced the edit from the order it read; another edit moved the order first."""
    _, handle = await _start(harness)
    before = await handle.query(OrderWorkflow.state)
    stale = _edit(before, ship_to=BERLIN)
    stale.ship_to = NEW_YORK  # as if the order now went elsewhere than what was priced
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(OrderWorkflow.edit, stale)
    assert getattr(info.value.cause, "type", None) == "NotEditableYet"
    after = await handle.query(OrderWorkflow.state)
    assert (after.total, after.ship_to, after.edits) == (before.total, before.ship_to, [])


async def test_an_edit_without_pricing_keeps_the_order_priced_as_placed(harness: Harness) -> None:
    """An order placed without totals, or an edit from before the API priced destinations:
    the lines are re-totalled with the shipping and VAT as placed, as before."""
    inp, handle = await _start(harness)
    view = await handle.execute_update(
        OrderWorkflow.edit, EditOrder(ship_to=BERLIN, reason="moved", by="support-1")
    )
    assert (view.total, view.shipping, view.tax_treatment) == (D("547.00"), D("49.00"), "vat")
    assert inp.totals is not None and [t.rate for t in view.tax] == [D(25)]
