"""``POST /ops/orders/{id}/release-hold`` releases each hold as the order's state says, and
``POST /ops/orders/{id}/resend`` sends only what the order sent (real HTTP and a real
Temporal server; the workflows run on an in-process worker with the workflow tests' fakes).

The hole: an order held for review got a ``retry_payment`` signal, which it ignored, and
the route answered 200 "payment authorization retried"; a credit hold was told apart by
the words "credit limit" in the order's last history line, so any later note broke it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from oms.models.orders import OrderNote, OrderStatus, PaymentDetails
from oms.models.shipments import ConfirmPack, ConfirmPick, Package
from tests.workflows.harness import Harness, running_harness, tick
from workflows.order import OrderWorkflow
from workflows.shipment import ShipmentWorkflow

from stack import api_alone

pytestmark = [pytest.mark.timeout(180)]

FINDINGS = ["first order of C-1 totals 398.00 SEK, above 100"]


def _id() -> str:
    return f"RH-{uuid.uuid4().hex[:8].upper()}"


async def _until(handle: WorkflowHandle[Any, Any], *statuses: OrderStatus) -> Any:
    for _ in range(400):
        view = await handle.query(OrderWorkflow.state)
        if view.status in statuses:
            return view
        await tick()
    raise AssertionError(f"never {statuses}: {view.status}")


def _problem(answer: httpx.Response, status: int, title: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["title"] == title, body
    return str(body["detail"])


async def _held(harness: Harness, order_id: str, **payment: Any) -> WorkflowHandle[Any, Any]:
    inp = harness.order_input(order_id, token=payment.pop("token", "tok_visa"))
    if payment:
        inp = inp.model_copy(update={"payment": PaymentDetails(**payment)})
    handle = await harness.start(inp)
    await _until(handle, OrderStatus.ON_HOLD)
    return handle


@asynccontextmanager
async def _operators(
    dev_server: WorkflowEnvironment, temporal_client: Client, store_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Harness, httpx.AsyncClient, httpx.AsyncClient]]:
    """The workflow harness, the API on ``store_url``, and an ops and a finance client."""
    async with running_harness(dev_server) as harness:
        with api_alone(temporal_client, store_url, tmp_path) as (url, _settings):
            async with (
                httpx.AsyncClient(
                    base_url=url, timeout=30, headers={"Authorization": "Bearer dev-ops"}
                ) as ops,
                httpx.AsyncClient(
                    base_url=url, timeout=30, headers={"Authorization": "Bearer dev-finance"}
                ) as finance,
            ):
                yield harness, ops, finance


async def test_release_hold_releases_a_review_a_credit_and_a_declined_card_hold(
    dev_server: WorkflowEnvironment,
    temporal_client: Client,
    migrated_sqlite_url: str,
    tmp_path: Path,
) -> None:
    async with _operators(dev_server, temporal_client, migrated_sqlite_url, tmp_path) as (
        harness,
        ops,
        finance,
    ):
        world = harness.world
        # Held by the risk rules: released through the order's release, as ops.
        world.risk_findings = FINDINGS
        reviewed, other = _id(), _id()
        handle = await _held(harness, reviewed)
        await _held(harness, other)
        world.risk_findings = []
        body = {"reason": "paid by transfer", "payment_token": "tok_visa"}
        answer = await ops.post(f"/ops/orders/{reviewed}/release-hold", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "workflow_id": f"order-{reviewed}",
            "action": "release_hold",
            "detail": "hold released (risk_review, held by risk-rules); the order goes "
            "on to confirmation and allocation (payment_token not used: the card was "
            "not declined)",
        }
        view = await _until(handle, OrderStatus.ALLOCATED, OrderStatus.PICKING)
        assert view.hold is None
        # Recorded once, by the release itself, with who and why.
        acted = [(h.action, h.by, h.note) for h in view.history if h.by == "ops:dev-ops"]
        assert acted == [
            (
                "release",
                "ops:dev-ops",
                "Released by ops:dev-ops: paid by transfer (held by risk-rules: risk_review)",
            ),
        ]
        # Finance approves credit; a review hold is for ops (as POST /orders/{id}/release).
        refused = await finance.post(f"/ops/orders/{other}/release-hold", json=body)
        assert "ops may" in _problem(refused, 403, "Forbidden")
        # Not on hold any more: nothing to release.
        again = await ops.post(f"/ops/orders/{reviewed}/release-hold", json=body)
        assert "not on hold" in _problem(again, 409, "NotOnHold")

        # Over the credit limit, with a note after the hold: finance approves it.
        world.credit_available = type(world.credit_available)("0.00")
        credit = _id()
        handle = await _held(harness, credit, method="invoice", company_id="CO-1", po_number="PO-7")
        await handle.execute_update(
            OrderWorkflow.add_note, OrderNote(text="CFO called", by="support-1")
        )
        answer = await finance.post(
            f"/ops/orders/{credit}/release-hold", json={"reason": "known customer"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["detail"] == "credit over the limit approved"
        await _until(handle, OrderStatus.ALLOCATED, OrderStatus.PICKING)

        # A declined card: authorized again with the new token.
        declined = _id()
        handle = await _held(harness, declined, token="tok_declined")
        answer = await ops.post(f"/ops/orders/{declined}/release-hold", json=body)
        assert answer.status_code == 200, answer.text
        detail = answer.json()["detail"]
        assert detail == "payment authorization retried with the new token"
        await _until(handle, OrderStatus.ALLOCATED, OrderStatus.PICKING)


def _by_operators(view: Any) -> list[tuple[str | None, str]]:
    """The history lines an operator or finance wrote, with the action."""
    return [(h.action, h.note) for h in view.history if h.by and "dev-" in h.by]


async def test_a_refused_intervention_leaves_no_trace_and_an_accepted_one_is_recorded_once(
    dev_server: WorkflowEnvironment,
    temporal_client: Client,
    migrated_sqlite_url: str,
    tmp_path: Path,
) -> None:
    async with _operators(dev_server, temporal_client, migrated_sqlite_url, tmp_path) as (
        harness,
        ops,
        finance,
    ):
        world = harness.world
        # Over the credit limit: ops may not approve it (the order's validator says).
        world.credit_available = type(world.credit_available)("0.00")
        credit = _id()
        handle = await _held(harness, credit, method="invoice", company_id="CO-1", po_number="PO-7")
        body = {"reason": "x"}
        refused = await ops.post(f"/ops/orders/{credit}/release-hold", json=body)
        assert "only finance" in _problem(refused, 403, "WrongRole")
        view = await handle.query(OrderWorkflow.state)
        assert view.status == OrderStatus.ON_HOLD
        assert _by_operators(view) == []
        answer = await finance.post(
            f"/ops/orders/{credit}/release-hold", json={"reason": "known customer"}
        )
        assert answer.status_code == 200, answer.text
        view = await _until(handle, OrderStatus.ALLOCATED, OrderStatus.PICKING)
        assert _by_operators(view) == [
            (
                None,
                "Credit over the limit approved by dev-finance (finance): known customer",
            )
        ]

        # Shipped: the cancel is refused, and leaves nothing in the history.
        shipment = await harness.shipment(f"{credit}-S1")
        await shipment.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Lisa"))
        await shipment.execute_update(
            ShipmentWorkflow.confirm_pack, ConfirmPack(packages=[Package(weight_grams=800)])
        )
        await _until(handle, OrderStatus.SHIPPED)
        refused = await ops.post(f"/ops/orders/{credit}/cancel", json=body)
        _problem(refused, 409, "AlreadyShipped")
        view = await handle.query(OrderWorkflow.state)
        assert view.status == OrderStatus.SHIPPED
        assert _by_operators(view) == [
            (
                None,
                "Credit over the limit approved by dev-finance (finance): known customer",
            )
        ]

        # Accepted: the cancel itself says who and why, once.
        world.credit_available = type(world.credit_available)("1000000.00")
        held = _id()
        world.risk_findings = FINDINGS
        handle = await _held(harness, held)
        world.risk_findings = []
        answer = await ops.post(f"/ops/orders/{held}/cancel", json={"reason": "fraud"})
        assert answer.status_code == 200, answer.text
        view = await handle.query(OrderWorkflow.state)
        assert view.status == OrderStatus.CANCELLED
        assert _by_operators(view) == [(None, "Cancelled by ops:dev-ops: fraud")]


async def test_resend_refuses_an_email_the_order_never_sent(
    dev_server: WorkflowEnvironment,
    temporal_client: Client,
    migrated_sqlite_url: str,
    tmp_path: Path,
) -> None:
    async with running_harness(dev_server) as harness:
        with api_alone(temporal_client, migrated_sqlite_url, tmp_path) as (url, _settings):
            async with httpx.AsyncClient(
                base_url=url, timeout=30, headers={"Authorization": "Bearer dev-ops"}
            ) as ops:
                declined = _id()
                await _held(harness, declined, token="tok_declined")
                body = {"reason": "customer asked", "notification": "order_confirmed"}
                answer = await ops.post(f"/ops/orders/{declined}/resend", json=body)
                assert _problem(answer, 409, "NotSent") == (
                    "the order never sent order_confirmed: it is sent once it is confirmed"
                )
                assert not [k for k in harness.world.email_keys() if "order_confirmed" in k]
                body["notification"] = "order_on_hold"
                answer = await ops.post(f"/ops/orders/{declined}/resend", json=body)
                assert answer.status_code == 200, answer.text
                assert f"{declined}:order_on_hold:resend:1" in harness.world.email_keys()
