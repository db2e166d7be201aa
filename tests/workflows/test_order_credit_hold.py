"""An order on invoice terms held over its company's credit limit, on the time-skipping
server: the buyer hears that finance decides (not the card-decline email), without the
company's credit figures."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from temporalio.worker import Replayer

from oms.client import data_converter
from oms.ids import shipment_workflow_id
from oms.models.ops import ResendNotification
from oms.models.order_changes import CancelLine
from oms.models.orders import CreditApproval, OrderInput, OrderStatus, PaymentDetails
from oms.models.shipments import ConfirmPack, ConfirmPick, Package, TrackingEvent
from oms.settings import Settings
from tests.workflows.harness import Harness, patches, tick
from workflows.order import OrderWorkflow
from workflows.order_payment import COMPLETE_RELEASES_CREDIT_PATCH
from workflows.sandbox import workflow_runner
from workflows.shipment import ShipmentWorkflow

pytestmark = pytest.mark.timeout(120)


def _invoice_order(harness: Harness, qty: int = 2) -> OrderInput:
    inp = harness.order_input(f"A-{uuid.uuid4().hex[:6]}", qty=qty)
    inp.payment = PaymentDetails(method="invoice", po_number="PO-77", company_id="ACME-AB")
    return inp


async def test_a_credit_hold_emails_the_credit_hold_and_resends_it(harness: Harness) -> None:
    harness.world.credit_available = Decimal("100.00")
    inp = _invoice_order(harness)
    handle = await harness.start(inp)
    for _ in range(200):
        if (await handle.query(OrderWorkflow.state)).status == OrderStatus.ON_HOLD:
            break
        await tick()
    while not harness.world.emails:
        await tick()

    # The order's view shows how it is paid: the buyer's PO number too.
    payment = (await handle.query(OrderWorkflow.state)).payment
    assert payment is not None and (payment.method, payment.po_number) == ("invoice", "PO-77")
    [held] = harness.world.emails
    assert (held.key, held.template, held.locale) == (
        f"{inp.order_id}:on_hold:credit",
        "order_credit_hold",
        "sv",
    )
    assert "reason" not in held.context
    assert held.context["hold_until"].endswith(" UTC")
    assert not [v for v in held.context.values() if "ACME-AB" in str(v) or "100.00" in str(v)]

    # Ops resend "order_on_hold": the same credit-hold email, not the card's.
    resend = ResendNotification(by="dev-ops", reason="lost it", notification="order_on_hold")
    await handle.execute_update(OrderWorkflow.resend_notification, resend)
    again = harness.world.emails[-1]
    assert (again.key, again.template) == (
        f"{inp.order_id}:order_on_hold:resend:1",
        "order_credit_hold",
    )
    assert again.context["hold_until"] == held.context["hold_until"]

    # Nobody approves: cancelled when the hold ends, and told why without the figures.
    assert (await handle.result()).status == OrderStatus.CANCELLED
    cancelled = harness.world.emails[-1]
    assert cancelled.template == "order_cancelled"
    assert cancelled.context["reason"] == (
        "the company's credit for the order was not approved in time"
    )
    view = harness.world.orders[inp.order_id]
    # The merchant still sees the figures in the history.
    assert any("credit limit of ACME-AB exceeded" in h.note for h in view.history)


async def _confirmed_note(handle: Any) -> str:
    for _ in range(200):
        view = await handle.query(OrderWorkflow.state)
        notes = [h.note for h in view.history if h.status == OrderStatus.CONFIRMED]
        if notes:
            return str(notes[0])
        await tick()
    raise AssertionError("never confirmed")


async def test_an_invoice_order_is_confirmed_on_its_reserved_credit_not_a_payment(
    harness: Harness,
) -> None:
    # Before, every order's history said "Payment authorized; order confirmed", also one
    # on invoice terms, which authorizes nothing: it reserves the company's credit.
    invoice = await harness.start(_invoice_order(harness))
    assert await _confirmed_note(invoice) == "Credit reserved; order confirmed"
    harness.world.credit_available = Decimal("100.00")
    over = await harness.start(_invoice_order(harness))
    for _ in range(200):
        if (await over.query(OrderWorkflow.state)).status == OrderStatus.ON_HOLD:
            break
        await tick()
    await over.execute_update(OrderWorkflow.approve_credit, CreditApproval(approver="Eva"))
    assert await _confirmed_note(over) == (
        "Credit reserved over the limit, as finance approved; order confirmed"
    )
    card = await harness.start(harness.order_input(f"A-{uuid.uuid4().hex[:6]}"))
    assert await _confirmed_note(card) == "Payment authorized; order confirmed"
    for handle in (invoice, over, card):
        await handle.terminate("test finished")


async def test_a_card_hold_resend_repeats_the_providers_reason(harness: Harness) -> None:
    inp = harness.order_input(f"A-{uuid.uuid4().hex[:6]}", token="tok_declined")
    handle = await harness.start(inp)
    while not harness.world.emails:
        await tick()
    [held] = harness.world.emails
    assert held.template == "order_on_hold"

    resend = ResendNotification(by="dev-ops", reason="lost it", notification="order_on_hold")
    await handle.execute_update(OrderWorkflow.resend_notification, resend)
    again = harness.world.emails[-1]
    assert again.template == "order_on_hold"
    assert again.context["reason"] == held.context["reason"] != "lost it"
    await handle.terminate("test finished")


async def test_a_completed_invoice_order_gives_back_the_credit_no_shipment_used(
    harness: Harness,
) -> None:
    """Two of three units owed and then cancelled: the order completes with one parcel,
    and the credit reserved for the other two is released (it stayed reserved for good:
    only shipments consume it, and a line cancel of an invoice order releases nothing)."""
    harness.world.stock = {"TSHIRT": 1}
    inp = _invoice_order(harness, qty=3)
    handle = await harness.start(inp)
    for _ in range(200):
        if (await handle.query(OrderWorkflow.state)).status == OrderStatus.BACKORDERED:
            break
        await tick()
    cancel = CancelLine(sku="TSHIRT", quantity=2, reason="no wait", by="support-1")
    await handle.execute_update(OrderWorkflow.cancel_line, cancel)
    assert not [r for n, r in harness.world.calls if n == "release_credit"]
    # Not harness.deliver: it describes the shipment, and the time-skipping server keeps an
    # unset Datetime search attribute as a null the SDK cannot decode (a real server drops it).
    ship = harness.client.get_workflow_handle_for(
        ShipmentWorkflow.run, shipment_workflow_id(f"{inp.order_id}-S1")
    )
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
    await ship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
    )
    for status in ("in_transit", "out_for_delivery", "delivered"):
        await ship.signal(
            ShipmentWorkflow.tracking_event,
            TrackingEvent(tracking_number=f"TN{inp.order_id}-S1", status=status),  # type: ignore[arg-type]
        )

    assert (await handle.result()).status == OrderStatus.COMPLETED
    released = [r for n, r in harness.world.calls if n == "release_credit"]
    assert [r.order_id for r in released] == [inp.order_id]
    history = await handle.fetch_history()
    assert COMPLETE_RELEASES_CREDIT_PATCH in patches(history)
    replayer = Replayer(
        workflows=[OrderWorkflow, ShipmentWorkflow],
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)
    # A card order records no marker of it.
    harness.world.stock = {"TSHIRT": 1}
    card = harness.order_input(f"A-{uuid.uuid4().hex[:6]}", qty=1)
    card_handle = await harness.start(card)
    await harness.deliver(f"{card.order_id}-S1")
    assert (await card_handle.result()).status == OrderStatus.COMPLETED
    assert COMPLETE_RELEASES_CREDIT_PATCH not in patches(await card_handle.fetch_history())
