"""A pick applied while its answer was lost still reaches the read model.

Under the chaos suite's worker kills a warehouse's pick timed out at the API, the workflow
had applied it, and the warehouse's retry got 409 ``AlreadyPicked``: the read model kept
showing the shipment unpicked (the caller records an update's answer; the workflow writes
nothing in that task and nothing else changed), so the warehouse never packed. A refused
update now records the workflow's own view.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from temporalio.client import Client

from oms.ids import shipment_workflow_id
from oms.models.shipments import ConfirmPick, ShipmentView
from oms.store import orders
from workflows.shipment import ShipmentWorkflow

from stack import order_body, running_stack


async def test_a_retried_pick_refused_as_already_picked_shows_the_pick(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path, simulate=False) as (
        stack,
        _,
    ):
        order_id = f"E2E-{uuid.uuid4().hex[:8].upper()}"
        body = order_body(order_id, [("CAP-NVY", 1, "199.00")])
        assert (await stack.place(body)).status_code == 202
        order = await stack.wait_for_status(order_id, {"picking"})
        sid = order["shipments"][0]["shipment_id"]

        # The pick the API sent, applied by the workflow; its answer never came back.
        handle = temporal_client.get_workflow_handle(shipment_workflow_id(sid))
        await handle.execute_update(ShipmentWorkflow.confirm_pick, ConfirmPick(picked_by="Ann"))
        before = await stack.api.get(f"/shipments/{sid}")
        assert before.status_code == 200 and before.json()["picked_by"] is None

        warehouse = stack.as_role("warehouse")
        retried = await warehouse.post(f"/shipments/{sid}/pick", json={"picked_by": "Ann"})
        assert retried.status_code == 409 and retried.json()["title"] == "AlreadyPicked"

        after = (await stack.api.get(f"/shipments/{sid}")).json()
        assert after["picked_by"] == "Ann"
        assert any(entry["note"] == "Picked by Ann" for entry in after["history"])
        packed = await warehouse.post(
            f"/shipments/{sid}/pack", json={"packages": [{"weight_grams": 900}]}
        )
        assert packed.status_code == 200, packed.text


async def test_a_listed_shipment_not_started_yet_answers_503_and_one_gone_for_good_409(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    """The order lists a new shipment in the task that starts its workflow: a pick in that
    window (seconds when a worker died with the task) must tell the warehouse to retry."""
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path, simulate=False) as (
        stack,
        _,
    ):
        order_id = f"E2E-{uuid.uuid4().hex[:8].upper()}"
        placed = await stack.place(order_body(order_id, [("CAP-NVY", 1, "199.00")]))
        assert placed.status_code == 202
        order = await stack.wait_for_status(order_id, {"picking"})
        listed = (await stack.api.get(f"/shipments/{order['shipments'][0]['shipment_id']}")).json()
        # The same shipment as its order lists it before the workflow is there.
        starting = ShipmentView.model_validate({**listed, "shipment_id": f"{order_id}-S9"})
        with stack.db.session() as session:
            assert orders.record_shipment(session, starting)

        warehouse = stack.as_role("warehouse")
        for action, body in (("pick", {}), ("pack", {"packages": [{"weight_grams": 900}]})):
            early = await warehouse.post(f"/shipments/{order_id}-S9/{action}", json=body)
            assert early.status_code == 503, early.text
            assert early.json()["title"] == "WorkflowNotReady"
            assert early.headers["retry-after"] == "1"
        unknown = await warehouse.post(f"/shipments/{order_id}-S8/pick", json={})
        assert unknown.status_code == 404 and unknown.json()["title"] == "NotFound"
        # A finished shipment whose workflow is gone (past retention) will never start:
        # retrying cannot help, so it is a 409, not a 503.
        gone = ShipmentView.model_validate(
            {**listed, "shipment_id": f"{order_id}-S7", "status": "delivered", "version": 99}
        )
        with stack.db.session() as session:
            assert orders.record_shipment(session, gone)
        finished = await warehouse.post(f"/shipments/{order_id}-S7/pick", json={})
        assert finished.status_code == 409, finished.text
        assert finished.json()["title"] == "Finished"
