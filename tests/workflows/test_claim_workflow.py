"""Claims on the time-skipping server: a lost parcel reshipped at no charge, a damaged one
refunded, and what a claim refuses."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from oms.client import data_converter
from oms.models.common import SkuQuantity
from oms.models.ops import RerouteShipment
from oms.models.order_changes import OpenClaim
from oms.models.orders import BackorderWake, CancelOrder, OrderStatus
from oms.models.shipments import ConfirmPack, ConfirmPick, Package, TrackingEvent
from oms.settings import Settings
from tests.workflows.harness import Harness, patches, tick
from workflows.order import OrderWorkflow, order_workflow_id
from workflows.order_claims import (
    CLAIM_BACKORDER_EMAIL_PATCH,
    CLAIM_EMAIL_PATCH,
    CLAIM_REFUND_DECLINED_PATCH,
)
from workflows.order_fulfil import REROUTE_FREE_PATCH, RESHIP_OWED_FREE_PATCH
from workflows.sandbox import workflow_runner
from workflows.shipment import ShipmentWorkflow

pytestmark = pytest.mark.timeout(120)


def _calls(harness: Harness, name: str) -> list[Any]:
    return [req for n, req in harness.world.calls if n == name]


async def _shipped(harness: Harness, qty: int = 2) -> tuple[str, WorkflowHandle[Any, Any], Any]:
    order_id = f"C-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id, qty=qty))
    ship = await harness.shipment(f"{order_id}-S1")
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
    await ship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
    )
    for _ in range(200):
        if (await handle.query(OrderWorkflow.state)).status == OrderStatus.SHIPPED:
            return order_id, handle, ship
        await tick()
    raise AssertionError("never shipped")


def _claim(order_id: str, kind: str, resolution: str) -> OpenClaim:
    return OpenClaim(
        shipment_id=f"{order_id}-S1",
        kind=kind,  # type: ignore[arg-type]
        resolution=resolution,  # type: ignore[arg-type]
        reason="no scan for 9 days",
        by="support-1",
    )


async def test_a_lost_parcel_is_reshipped_at_no_charge(harness: Harness) -> None:
    order_id, handle, ship = await _shipped(harness)
    view = await handle.execute_update(OrderWorkflow.open_claim, _claim(order_id, "lost", "reship"))
    [claim] = view.claims
    assert (claim.by, claim.kind, claim.reshipped_as) == ("support-1", "lost", [f"{order_id}-S2"])
    assert view.history[-1].note == (
        f"Claim by support-1: {order_id}-S1 lost: no scan for 9 days; reshipped as "
        f"{order_id}-S2 at no charge"
    )
    assert view.history[-1].action == "claim"
    settled = await ship.result()
    assert settled.status == "claimed"
    assert settled.history[-1].note == "Claimed lost by support-1: no scan for 9 days"
    [_, reship] = _calls(harness, "allocate")
    assert reship.key == f"{order_id}:claim:1" and reship.lines[0].quantity == 2

    refused = await _refuse(handle, _claim(order_id, "lost", "reship"))
    assert refused == "AlreadyClaimed"
    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    # The lost parcel was charged once; its reship captures nothing.
    assert [c.amount for c in _calls(harness, "capture")] == [Decimal("398.00")]


async def test_an_order_whose_parcel_was_claimed_cannot_be_cancelled(harness: Harness) -> None:
    """The claimed parcel left the warehouse and was charged: a cancel would stop its
    reship, void nothing and refund nothing while the customer was told they would be
    refunded. Before, only a parcel shipped or in transit refused the cancel."""
    order_id, handle, _ = await _shipped(harness)
    await handle.execute_update(OrderWorkflow.open_claim, _claim(order_id, "lost", "reship"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            OrderWorkflow.cancel, CancelOrder(reason="customer changed mind", requested_by="s1")
        )
    assert getattr(refused.value.cause, "type", None) == "AlreadyShipped"
    view = await handle.query(OrderWorkflow.state)
    assert view.status != OrderStatus.CANCELLED
    assert {s.shipment_id: s.status for s in view.shipments}[f"{order_id}-S2"] != "cancelled"
    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert not _calls(harness, "void_authorization")


async def test_a_damaged_parcel_is_refunded_and_the_order_completes(harness: Harness) -> None:
    order_id, handle, ship = await _shipped(harness, qty=1)
    await ship.signal(
        ShipmentWorkflow.tracking_event,
        TrackingEvent(tracking_number=f"TN{order_id}-S1", status="exception"),  # type: ignore[arg-type]
    )
    view = await handle.execute_update(
        OrderWorkflow.open_claim, _claim(order_id, "damaged", "refund")
    )
    [claim] = view.claims
    assert (claim.refunded, claim.refund_id) == (
        Decimal("199.00"),
        f"REF-{order_id}-S1:claim-refund",
    )
    [refund] = _calls(harness, "refund")
    assert refund.amount == Decimal("199.00") and refund.order_id == order_id
    result = await handle.result()
    assert result.status == OrderStatus.COMPLETED
    final = harness.world.orders[order_id]
    assert final.history[-1].note == "Every shipment delivered or settled by a claim"


async def test_a_declined_claim_refund_keeps_the_claim_and_says_what_to_do(
    harness: Harness,
) -> None:
    """The provider declines the claim's refund after the parcel was settled by it: the claim
    is kept with the provider's answer (nothing refunded) and the caller is told to refund
    it by hand. Before, the parcel ended claimed with no claim on record and the order
    completed as if nothing had happened (a second claim was refused as ``NotShipped``)."""
    order_id, handle, ship = await _shipped(harness, qty=1)
    harness.world.captured = Decimal("10.00")  # the provider has less left than the parcel
    with pytest.raises(WorkflowUpdateFailedError) as declined:
        await handle.execute_update(OrderWorkflow.open_claim, _claim(order_id, "damaged", "refund"))
    cause = declined.value.cause
    assert getattr(cause, "type", None) == "RefundDeclined"
    assert f"{order_id}-S1 is settled by the damaged claim" in str(cause)
    assert "declined the refund of 199.00 SEK" in str(cause)
    assert f"POST /orders/{order_id}/refunds" in str(cause)
    assert (await ship.result()).status == "claimed"

    view = await handle.query(OrderWorkflow.state)
    [claim] = view.claims
    assert (claim.refunded, claim.refund_id) == (Decimal("0.00"), None)
    assert claim.refund_error is not None and "exceeds the 10.00 left" in claim.refund_error
    [noted] = [h.note for h in view.history if h.action == "claim"]
    assert "damaged: no scan for 9 days; refund declined, nothing refunded: Refund" in noted
    # The order completes with the claim on record (settled parcels end it, as before).
    result = await handle.result()
    assert result.status == OrderStatus.COMPLETED
    assert harness.world.orders[order_id].claims[0].refund_error == claim.refund_error
    history = await handle.fetch_history()
    assert CLAIM_REFUND_DECLINED_PATCH in patches(history)
    replayer = Replayer(
        workflows=[OrderWorkflow, ShipmentWorkflow],
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)


async def test_a_refunded_parcel_is_emailed_and_never_called_delivered(
    mail_harness: Harness,
) -> None:
    """The walkthrough: the order's only parcel lost and refunded. The customer (Swedish)
    is told the refund when the claim settles, and the completed email says the parcel was
    refunded, not delivered."""
    harness = mail_harness
    order_id, handle, _ = await _shipped(harness, qty=1)
    await handle.execute_update(OrderWorkflow.open_claim, _claim(order_id, "lost", "refund"))
    assert (await handle.result()).status == OrderStatus.COMPLETED

    assert harness.smtp is not None
    [settled] = harness.smtp.messages_for(f"{order_id}:claim:1")
    assert settled.subject == f"Återbetalning av 199,00 SEK för din order {order_id}"
    assert f"Ditt paket {order_id}-S1 från order {order_id} försvann" in settled.text
    assert "Vi har återbetalat 199,00 SEK till ditt kort." in settled.text
    [completed] = harness.smtp.messages_for(f"{order_id}:completed")
    assert "har levererats" not in completed.text
    assert "Levererat:" not in completed.text
    assert (
        f"paket {order_id}-S1 (1 st TSHIRT) försvann under transporten: vi har återbetalat "
        "199,00 SEK till ditt kort."
    ) in completed.text
    assert CLAIM_EMAIL_PATCH in patches(await handle.fetch_history())


async def test_a_reship_is_emailed_once_and_the_completed_email_lists_it(
    harness: Harness,
) -> None:
    order_id, handle, _ = await _shipped(harness)
    await handle.execute_update(OrderWorkflow.open_claim, _claim(order_id, "lost", "reship"))
    await harness.deliver(f"{order_id}-S2")
    await handle.result()

    emails = {e.key: e for e in harness.world.emails}
    settled = emails[f"{order_id}:claim:1"]
    assert settled.template == "order_claim_settled" and settled.locale == "sv"
    assert {k: settled.context[k] for k in ("resolution", "reshipped_as", "owed", "parcel")} == {
        "resolution": "reship",
        "reshipped_as": [f"{order_id}-S2"],
        "owed": [],
        "parcel": [{"sku": "TSHIRT", "quantity": 2}],
    }
    assert [e.template for e in harness.world.emails].count("order_claim_settled") == 1
    completed = emails[f"{order_id}:completed"].context
    assert [p["shipment_id"] for p in completed["delivered"]] == [f"{order_id}-S2"]
    assert [c["shipment_id"] for c in completed["claims"]] == [f"{order_id}-S1"]


async def test_a_reship_no_warehouse_can_fill_sends_the_backorder_email(
    harness: Harness,
) -> None:
    # The parcel took the last units: the reship owes them. Before, the order owed them with
    # no order_backordered (and a resend of it was refused as never sent).
    harness.world.stock = {"TSHIRT": 2}
    order_id, handle, _ = await _shipped(harness)
    view = await handle.execute_update(OrderWorkflow.open_claim, _claim(order_id, "lost", "reship"))
    assert view.backordered == [SkuQuantity(sku="TSHIRT", quantity=2)]
    assert view.backorder_emailed is True
    emails = {e.key: e for e in harness.world.emails}
    assert emails[f"{order_id}:claim:1"].context["owed"] == [{"sku": "TSHIRT", "quantity": 2}]
    backordered = emails[f"{order_id}:backordered:claim:1"]
    assert backordered.template == "order_backordered"
    assert backordered.context["backordered"] == [{"sku": "TSHIRT", "quantity": 2}]
    assert [e.template for e in harness.world.emails].count("order_backordered") == 1
    assert CLAIM_BACKORDER_EMAIL_PATCH in patches(await handle.fetch_history())
    harness.world.arrived = {"TSHIRT": 2}
    await handle.signal(OrderWorkflow.backorder_wake, BackorderWake())
    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED


async def test_a_reship_owed_and_filled_later_ships_at_no_charge(harness: Harness) -> None:
    # Before, the filled parcel was started as a paid one: it tried to capture the units
    # again on the authorization the lost parcel had used up, and the provider refused.
    harness.world.stock = {"TSHIRT": 2}
    order_id, handle, _ = await _shipped(harness)
    view = await handle.execute_update(OrderWorkflow.open_claim, _claim(order_id, "lost", "reship"))
    assert view.backordered == [SkuQuantity(sku="TSHIRT", quantity=2)]
    [_, reship] = _calls(harness, "allocate")
    assert reship.free

    harness.world.arrived = {"TSHIRT": 2}
    await handle.signal(OrderWorkflow.backorder_wake, BackorderWake())
    await harness.deliver(f"{order_id}-S2")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    # Charged once, for the lost parcel; the replacement captured nothing.
    assert [c.amount for c in _calls(harness, "capture")] == [Decimal("398.00")]
    assert harness.world.shipments[f"{order_id}-S2"].captured == Decimal("0.00")
    assert patches(await handle.fetch_history()).count(RESHIP_OWED_FREE_PATCH) == 1


async def test_a_fill_of_paid_and_reshipped_units_charges_only_the_paid_ones(
    harness: Harness,
) -> None:
    # Three ordered, two in stock: S1 ships two and one is owed (paid). S1 is lost and
    # reshipped with no stock left: two more are owed, free. One delivery fills all three.
    harness.world.stock = {"TSHIRT": 2}
    order_id = f"C-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id, qty=3))
    ship = await harness.shipment(f"{order_id}-S1")
    await ship.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
    await ship.execute_update(
        ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
    )
    for _ in range(200):
        if (await handle.query(OrderWorkflow.state)).status == OrderStatus.PARTIALLY_SHIPPED:
            break
        await tick()
    view = await handle.execute_update(OrderWorkflow.open_claim, _claim(order_id, "lost", "reship"))
    assert view.backordered == [SkuQuantity(sku="TSHIRT", quantity=3)]

    harness.world.arrived = {"TSHIRT": 3}
    await handle.signal(OrderWorkflow.backorder_wake, BackorderWake())
    await harness.deliver(f"{order_id}-S2")
    await harness.deliver(f"{order_id}-S3")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    shipments = harness.world.shipments
    assert [ln.quantity for ln in shipments[f"{order_id}-S2"].lines] == [1]
    assert [ln.quantity for ln in shipments[f"{order_id}-S3"].lines] == [2]
    # The lost parcel's two units, then the owed paid unit; the reshipped two are free.
    assert [c.amount for c in _calls(harness, "capture")] == [
        Decimal("398.00"),
        Decimal("199.00"),
    ]
    assert shipments[f"{order_id}-S3"].captured == Decimal("0.00")


async def test_a_reship_owed_across_continue_as_new_still_ships_free(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    # The store keeps what is owed free: the order's later run ships it free when it fills,
    # beside the unit it owes (paid) since it was placed.
    harness.world.stock = {"TSHIRT": 2}
    order_id = f"C-{uuid.uuid4().hex[:6]}"
    inp = harness.order_input(order_id, qty=3, recheck_s=24 * 3600, pick_sla_s=400 * 24 * 3600)
    options = inp.options.model_copy(update={"continue_as_new_after_events": 200})
    first = await harness.start(inp.model_copy(update={"options": options}))
    latest = harness.client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))
    await harness.deliver(f"{order_id}-S1")
    for _ in range(200):
        view = await latest.query(OrderWorkflow.state)
        if [s.status for s in view.shipments] == ["delivered"]:
            break
        await tick()
    await latest.execute_update(OrderWorkflow.open_claim, _claim(order_id, "damaged", "reship"))

    await env.sleep(timedelta(days=60))
    assert (await latest.describe()).run_id != first.result_run_id, "it never continued"
    harness.world.arrived = {"TSHIRT": 3}
    await env.sleep(timedelta(days=1, minutes=1))
    await harness.deliver(f"{order_id}-S2")
    await harness.deliver(f"{order_id}-S3")
    assert (await latest.result()).status == OrderStatus.COMPLETED
    assert [c.amount for c in _calls(harness, "capture")] == [
        Decimal("398.00"),
        Decimal("199.00"),
    ]
    assert harness.world.shipments[f"{order_id}-S3"].captured == Decimal("0.00")


async def test_a_rerouted_reship_stays_free_and_so_do_the_units_it_owes(
    harness: Harness,
) -> None:
    # Before, the re-routed replacement was started as a paid parcel and its capture was
    # refused (the lost parcel had used the authorization up).
    harness.world.stock = {"TSHIRT": 5}
    order_id, handle, _ = await _shipped(harness)
    await handle.execute_update(OrderWorkflow.open_claim, _claim(order_id, "lost", "reship"))
    await harness.shipment(f"{order_id}-S2")
    request = RerouteShipment(shipment_id=f"{order_id}-S2", reason="WH-STO flooded", by="ops-1")
    view = await handle.execute_update(OrderWorkflow.reroute, request)
    # One unit found elsewhere (S3), one owed.
    assert view.backordered == [SkuQuantity(sku="TSHIRT", quantity=1)]
    assert _calls(harness, "allocate")[-1].free
    harness.world.arrived = {"TSHIRT": 1}
    await handle.signal(OrderWorkflow.backorder_wake, BackorderWake())
    await harness.deliver(f"{order_id}-S3")
    await harness.deliver(f"{order_id}-S4")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert [c.amount for c in _calls(harness, "capture")] == [Decimal("398.00")]
    assert REROUTE_FREE_PATCH in patches(await handle.fetch_history())


async def test_a_reship_that_finds_stock_sends_no_backorder_email(harness: Harness) -> None:
    order_id, handle, _ = await _shipped(harness)
    view = await handle.execute_update(OrderWorkflow.open_claim, _claim(order_id, "lost", "reship"))
    assert not view.backordered and view.backorder_emailed is False
    assert not [e for e in harness.world.emails if e.template == "order_backordered"]
    assert CLAIM_BACKORDER_EMAIL_PATCH not in patches(await handle.fetch_history())
    await harness.deliver(f"{order_id}-S2")
    await handle.result()


async def test_a_parcel_not_shipped_or_not_the_orders_cannot_be_claimed(harness: Harness) -> None:
    order_id = f"C-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id))
    await harness.shipment(f"{order_id}-S1")
    for _ in range(200):
        if (await handle.query(OrderWorkflow.state)).status == OrderStatus.PICKING:
            break
        await tick()
    assert await _refuse(handle, _claim(order_id, "lost", "reship")) == "NotShipped"
    stranger = _claim(order_id, "lost", "reship").model_copy(update={"shipment_id": "NOPE-S9"})
    assert await _refuse(handle, stranger) == "UnknownShipment"
    assert (await handle.query(OrderWorkflow.state)).claims == []


async def _refuse(handle: WorkflowHandle[Any, Any], body: OpenClaim) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(OrderWorkflow.open_claim, body)
    return str(getattr(info.value.cause, "type", None))
