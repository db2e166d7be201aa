"""Card authorizations lapse: an order whose backorder fills (or that is allocated after a
long hold) when its authorization is too old to capture on authorizes what it held again
before the parcel starts, or waits on hold for a new card when the card is declined.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from oms.domain.money import format_money
from oms.domain.order_emails import REAUTH_NOT_COMPLETED
from oms.models.orders import (
    CancelOrder,
    HoldRequest,
    OrderInput,
    OrderStatus,
    PaymentDetails,
    RetryPayment,
)
from tests.workflows.harness import Harness, patches, tick
from workflows.order import OrderWorkflow, order_workflow_id
from workflows.order_cancel import REST_CANCELLED_PATCH
from workflows.order_payment import REAUTHORIZE_PATCH

DAY = 24 * 3600


def _order(harness: Harness, order_id: str, valid_s: int) -> OrderInput:
    inp = harness.order_input(order_id, qty=3, recheck_s=DAY, pick_sla_s=400 * DAY)
    options = inp.options.model_copy(update={"payment_authorization_valid_s": valid_s})
    return inp.model_copy(update={"options": options})


async def _first_parcel_delivered(
    harness: Harness, valid_s: int
) -> tuple[str, WorkflowHandle[Any, Any]]:
    """An order of 3 with 1 in stock, authorizations valid ``valid_s``: its first parcel
    delivered, 2 units owed."""
    harness.world.stock["TSHIRT"] = 1
    order_id = f"R-{uuid.uuid4().hex[:6]}"
    await harness.start(_order(harness, order_id, valid_s=valid_s))
    await harness.deliver(f"{order_id}-S1")
    handle = harness.client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))
    for _ in range(200):
        view = await handle.query(OrderWorkflow.state)
        if [s.status for s in view.shipments] == ["delivered"]:
            break
        await tick()
    return order_id, handle


def _calls(harness: Harness, name: str) -> list[Any]:
    return [req for called, req in harness.world.calls if called == name]


async def test_a_fill_within_the_validity_ships_on_the_first_authorization(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    order_id, handle = await _first_parcel_delivered(harness, 30 * DAY)

    harness.world.arrived["TSHIRT"] = 2
    await env.sleep(timedelta(days=2, minutes=1))
    await harness.deliver(f"{order_id}-S2")

    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert [c.authorization_id for c in _calls(harness, "capture")] == [
        f"AUTH-{order_id}:authorize:1"
    ] * 2
    assert "void_authorization" not in harness.world.names()
    assert REAUTHORIZE_PATCH not in patches(await handle.fetch_history())


async def test_a_declined_reauthorization_holds_the_order_until_a_new_card_is_authorized(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    order_id, handle = await _first_parcel_delivered(harness, 2 * DAY)
    harness.world.decline_tokens.add("tok_visa")  # the card expired meanwhile

    await env.sleep(timedelta(days=2))  # no stock: the authorization ages
    harness.world.arrived["TSHIRT"] = 2
    await env.sleep(timedelta(days=1, minutes=1))
    view = await handle.query(OrderWorkflow.state)

    # Nothing ships on money the order no longer holds: the parcel waits, the order is on
    # hold, operations and the customer were told.
    assert view.status == OrderStatus.ON_HOLD
    assert [s.shipment_id for s in view.shipments] == [f"{order_id}-S1"]
    assert any("Re-authorization declined" in h.note for h in view.history)
    voids = _calls(harness, "void_authorization")
    assert [(v.idempotency_key, v.authorization_id) for v in voids] == [
        (f"{order_id}:reauth-void:1", f"AUTH-{order_id}:authorize:1")
    ]
    emails = {e.key: e for e in harness.world.emails}
    hold = emails[f"{order_id}:on_hold:reauth:1"]
    assert hold.template == "order_on_hold"
    # The email names what was asked for again (what is left to capture), not the total.
    locale = view.customer.locale
    assert hold.context["reauth_amount"] == format_money(Decimal("398.00"), view.currency, locale)
    assert hold.context["total"] != hold.context["reauth_amount"]
    alert = emails[f"{order_id}:reauth:1:ops_alert"]
    assert alert.template == "ops_alert" and alert.to == "ops@oms.example"
    assert alert.context["shipment_id"] == f"{order_id}-S2"
    # A parcel has shipped: the alert sends operators to release the hold, not to a cancel
    # that would be refused and cancel nothing.
    remedy = alert.context["remedy"]
    assert f"POST /ops/orders/{order_id}/release-hold" in remedy
    assert "AlreadyShipped" in remedy and "cancels nothing" in remedy
    assert "or cancel the order" not in remedy
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(OrderWorkflow.cancel, CancelOrder(reason="too late"))
    assert getattr(refused.value.cause, "type", None) == "AlreadyShipped"
    assert "release" not in harness.world.names()

    # The release-hold path: a new card, authorized on the next key.
    await handle.signal(
        OrderWorkflow.retry_payment, RetryPayment(payment=PaymentDetails(token="tok_new"))
    )
    for _ in range(200):
        if len((await handle.query(OrderWorkflow.state)).shipments) == 2:
            break
        await tick()
    await harness.deliver(f"{order_id}-S2")

    assert (await handle.result()).status == OrderStatus.COMPLETED
    reauths = _calls(harness, "authorize")[1:]
    assert [(a.idempotency_key, a.token, a.amount) for a in reauths] == [
        (f"{order_id}:reauth:1", "tok_visa", Decimal("398.00")),
        (f"{order_id}:reauth:2", "tok_new", Decimal("398.00")),
    ]
    assert [c.authorization_id for c in _calls(harness, "capture")] == [
        f"AUTH-{order_id}:authorize:1",
        f"AUTH-{order_id}:reauth:2",
    ]
    # The order's history says which authorization now holds the money.
    notes = [h.note for h in harness.world.orders[order_id].history]
    voided = f"Voided AUTH-{order_id}:authorize:1 and authorized 398.00 SEK again as "
    assert f"{voided}AUTH-{order_id}:reauth:2" in notes
    assert REAUTHORIZE_PATCH in patches(await handle.fetch_history())


async def test_a_reauthorization_declined_past_the_hold_cancels_what_did_not_ship(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    order_id, handle = await _first_parcel_delivered(harness, 2 * DAY)
    harness.world.decline_tokens.add("tok_visa")
    await env.sleep(timedelta(days=2))
    harness.world.arrived["TSHIRT"] = 2

    await env.sleep(timedelta(days=5))  # the fill, then the whole hold, with no new card

    result = await handle.result()
    view = await handle.query(OrderWorkflow.state)
    assert [s.shipment_id for s in view.shipments] == [f"{order_id}-S1"]
    assert view.backordered == []
    assert "release" in harness.world.names()  # the filled stock went back
    assert [c.idempotency_key for c in _calls(harness, "capture")] == [f"{order_id}-S1:capture"]
    # What shipped completes the order; the rest was cancelled by the system, and why.
    assert result.status == OrderStatus.COMPLETED
    assert any("the rest was cancelled" in h.note for h in view.history)
    assert REAUTH_NOT_COMPLETED in " ".join(h.note for h in view.history)
    # The customer hears: the hold named what the first parcel charged (not "nothing is
    # charged"), and once the hold ran out, one email says what will not come and why.
    charged = format_money(
        _calls(harness, "capture")[0].amount, view.currency, view.customer.locale
    )
    emails = {e.key: e for e in harness.world.emails}
    assert emails[f"{order_id}:on_hold:reauth:1"].context["charged_so_far"] == charged
    rest = emails[f"{order_id}:rest-cancelled"]
    assert rest.template == "order_rest_cancelled"
    assert rest.context["cancelled"] == [{"sku": "TSHIRT", "quantity": 2}]
    assert rest.context["why"] == "payment_not_reauthorized"
    assert rest.context["reason"] == REAUTH_NOT_COMPLETED
    assert rest.context["charged_so_far"] == charged
    assert f"{order_id}:cancelled" not in emails  # the order did not end cancelled
    assert REST_CANCELLED_PATCH in patches(await handle.fetch_history())


async def test_an_order_held_for_review_past_the_validity_authorizes_again_before_it_ships(
    harness: Harness, env: WorkflowEnvironment
) -> None:
    harness.world.authorize_gate = gate = asyncio.Event()
    order_id = f"R-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(_order(harness, order_id, valid_s=2 * DAY))
    while "authorize" not in harness.world.names():
        await tick()
    await handle.execute_update(
        OrderWorkflow.hold, HoldRequest(reason="address looks wrong", by="support-1")
    )
    gate.set()
    await env.sleep(timedelta(days=3))  # on hold for review while the authorization ages
    await handle.execute_update(
        OrderWorkflow.release, HoldRequest(reason="customer confirmed", by="ops-2")
    )
    for _ in range(200):
        if (await handle.query(OrderWorkflow.state)).shipments:
            break
        await tick()
    await harness.deliver(f"{order_id}-S1")

    assert (await handle.result()).status == OrderStatus.COMPLETED
    assert [a.idempotency_key for a in _calls(harness, "authorize")] == [
        f"{order_id}:authorize:1",
        f"{order_id}:reauth:1",
    ]
    assert [c.authorization_id for c in _calls(harness, "capture")] == [f"AUTH-{order_id}:reauth:1"]
