"""End to end over real HTTP, the warehouse played by the test (no simulated warehouse):
part of a line cancelled, a short pick of 1 of 3 units, and an edit before the pick.

Runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import Client

from oms.store.tables import StockRow
from sandboxes.payments import LedgerRow

from stack import Stack, order_body, running_stack, wait_until

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


def _ledger(stack: Stack, order_id: str, kind: str) -> list[Decimal]:
    with stack.payments.session() as session:
        rows = session.scalars(
            select(LedgerRow.amount)
            .where(LedgerRow.order_id == order_id, LedgerRow.kind == kind)
            .order_by(LedgerRow.id)
        )
        return [Decimal(a) for a in rows]


def _stock(stack: Stack, warehouse_id: str, sku: str) -> tuple[int, int]:
    with stack.db.session() as session:
        row = session.get(StockRow, (warehouse_id, sku))
        assert row is not None
        return row.on_hand, row.reserved


async def test_part_of_a_line_is_cancelled_and_refusals_change_nothing(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        order_id = f"E2E-{uuid.uuid4().hex[:8].upper()}"
        body = order_body(order_id, [("TSHIRT-BLK-M", 2, "249.00"), ("CAP-NVY", 1, "199.00")])
        assert (await stack.place(body)).status_code == 202
        await stack.wait_for_status(order_id, {"picking"})
        url = f"/orders/{order_id}/lines/TSHIRT-BLK-M/cancel"
        support = stack.as_role("support")
        before = await stack.order(order_id)

        wrong_role = await stack.as_role("warehouse").post(url, json={"quantity": 1, "reason": "x"})
        assert wrong_role.status_code == 403
        too_many = await support.post(url, json={"quantity": 3, "reason": "all of them"})
        assert too_many.status_code == 422 and too_many.json()["title"] == "TooManyUnits"
        assert too_many.json()["detail"] == "the order has 2 unit(s) of TSHIRT-BLK-M, not 3"
        unknown = await support.post(
            f"/orders/{order_id}/lines/SOCKS-3PK/cancel", json={"quantity": 1, "reason": "x"}
        )
        assert unknown.status_code == 409 and unknown.json()["title"] == "UnknownLine"
        no_reason = await support.post(url, json={"quantity": 1})
        assert no_reason.status_code == 422 and "reason" in no_reason.text
        assert (await stack.order(order_id))["history"] == before["history"]
        assert _stock(stack, "WH-STO", "TSHIRT-BLK-M") == (40, 2)

        done = await support.post(url, json={"quantity": 1, "reason": "customer asked"})
        assert done.status_code == 200, done.text
        order = done.json()
        assert order["total"] == "497.00"  # 249.00 + 199.00 + 49.00 shipping
        assert [(ln["sku"], ln["quantity"]) for ln in order["lines"]] == [
            ("TSHIRT-BLK-M", 1),
            ("CAP-NVY", 1),
        ]
        [cancelled] = order["line_cancellations"]
        assert (cancelled["by"], cancelled["reason"], cancelled["released"]) == (
            "dev-support",
            "customer asked",
            "249.00",
        )
        last = order["history"][-1]
        assert (last["action"], last["by"]) == ("cancel_line", "dev-support")
        assert _stock(stack, "WH-STO", "TSHIRT-BLK-M") == (40, 1)
        assert _ledger(stack, order_id, "void") == [Decimal("249.00")]

        finished = await stack.fulfil(order_id)
        assert finished["status"] == "completed"
        assert _ledger(stack, order_id, "capture") == [Decimal("497.00")]
        assert _stock(stack, "WH-STO", "TSHIRT-BLK-M") == (39, 0)


async def test_a_short_pick_of_1_of_3_captures_2_and_backorders_1(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path, simulate=False) as (
        stack,
        _,
    ):
        sku = "JEANS-IND-32"  # only Gothenburg keeps it: 3 on the shelf, on paper
        stocked = await stack.api.put(f"/warehouses/WH-GOT/stock/{sku}", json={"on_hand": 3})
        assert stocked.status_code == 200, stocked.text
        order_id = f"E2E-{uuid.uuid4().hex[:8].upper()}"
        assert (await stack.place(order_body(order_id, [(sku, 3, "899.00")]))).status_code == 202
        order = await stack.wait_for_status(order_id, {"picking"})
        [shipment] = order["shipments"]
        sid = shipment["shipment_id"]
        warehouse = stack.as_role("warehouse")

        too_many = await warehouse.post(
            f"/shipments/{sid}/pick", json={"lines": [{"sku": sku, "quantity": 4}]}
        )
        assert too_many.status_code == 422 and too_many.json()["title"] == "BadPick"
        picked = await warehouse.post(
            f"/shipments/{sid}/pick", json={"lines": [{"sku": sku, "quantity": 2}]}
        )
        assert picked.status_code == 200, picked.text
        assert picked.json()["short"] == [{"sku": sku, "quantity": 1}]
        # The missing unit is not on the shelf: it left stock with the short pick.
        assert _stock(stack, "WH-GOT", sku) == (2, 2)
        packed = await warehouse.post(
            f"/shipments/{sid}/pack", json={"packages": [{"weight_grams": 1500}]}
        )
        assert packed.status_code == 200, packed.text

        async def shipped() -> dict | None:
            view = (await stack.api.get(f"/shipments/{sid}")).json()
            return view if view["status"] == "shipped" else None

        await wait_until(shipped, 30, "the parcel never shipped")
        # The read model shows it as soon as the parcel ships: the order's write waits for
        # its main loop to refresh the status the milestone changed (tracker-writes-settled).
        order = await stack.wait_for_status(order_id, {"partially_shipped"}, timeout_s=5)
        assert order["backordered"] == [{"sku": sku, "quantity": 1}]
        shorts = [h for h in order["history"] if h["action"] == "short_pick"]
        assert shorts[0]["by"] == "dev-warehouse"
        assert _ledger(stack, order_id, "capture") == [Decimal("1847.00")]
        assert _stock(stack, "WH-GOT", sku) == (0, 0)
        shipped = (await stack.api.get(f"/shipments/{sid}")).json()
        assert [(ln["sku"], ln["quantity"]) for ln in shipped["lines"]] == [(sku, 2)]


async def test_an_edit_before_the_pick_ships_to_the_new_address_and_captures_the_new_total(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path, simulate=False) as (
        stack,
        _,
    ):
        order_id = f"E2E-{uuid.uuid4().hex[:8].upper()}"
        assert (
            await stack.place(order_body(order_id, [("TSHIRT-BLK-M", 1, "249.00")]))
        ).status_code == 202
        await stack.wait_for_status(order_id, {"picking"})
        buyer = stack.as_token("dev-buyer")
        moved = {
            "name": "Anna Lindqvist",
            "line1": "Kungsportsavenyen 10",
            "postal_code": "411 36",
            "city": "Göteborg",
            "country": "SE",
        }
        url = f"/orders/{order_id}/edits"
        support = stack.as_role("support")
        nothing = await support.post(url, json={"reason": "nothing"})
        assert nothing.status_code == 422
        unknown = await support.post(
            url, json={"lines": [{"sku": "NO-SUCH", "quantity": 1}], "reason": "x"}
        )
        assert unknown.status_code == 422 and "lines" in unknown.text
        assert (await buyer.post(url, json={"ship_to": moved, "reason": "x"})).status_code == 404

        edit = {
            "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 2}],
            "ship_to": moved,
            "reason": "moved to Gothenburg",
        }
        edited = await support.post(url, json=edit)
        assert edited.status_code == 200, edited.text
        order = edited.json()
        assert (order["total"], order["ship_to"]["city"]) == ("547.00", "Göteborg")
        assert order["history"][-1]["by"] == "dev-support"
        assert order["history"][-1]["action"] == "edit"
        old, new = order["shipments"]
        assert old["status"] == "cancelled" and new["warehouse_id"] == "WH-GOT"
        mail = await stack.wait_for_email(f"{order_id}:changed:1")
        assert mail.subject == f"Your order {order_id} has been changed"

        done = await stack.fulfil(order_id)
        assert done["status"] == "completed"
        shipped = (await stack.api.get(f"/shipments/{new['shipment_id']}")).json()
        assert {k: v for k, v in shipped["ship_to"].items() if v is not None} == moved
        assert shipped["label_id"]
        assert _ledger(stack, order_id, "capture") == [Decimal("547.00")]
        assert _ledger(stack, order_id, "void") == [Decimal("298.00")]
        late = await support.post(url, json={"shipping_speed": "express", "reason": "late"})
        assert late.status_code == 409


async def test_a_lost_parcel_is_reshipped(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path, simulate=False) as (
        stack,
        _,
    ):
        order_id = f"E2E-{uuid.uuid4().hex[:8].upper()}"
        body = order_body(order_id, [("TSHIRT-BLK-M", 1, "249.00")])
        assert (await stack.place(body)).status_code == 202
        order = await stack.wait_for_status(order_id, {"picking"})
        sid = order["shipments"][0]["shipment_id"]
        url = f"/shipments/{sid}/claims"
        support, warehouse = stack.as_role("support"), stack.as_role("warehouse")
        lost = {"kind": "lost", "resolution": "reship", "reason": "no scan for 9 days"}
        early = await support.post(url, json=lost)
        assert early.status_code == 409 and early.json()["title"] == "NotShipped"
        assert (await warehouse.post(url, json=lost)).status_code == 403

        assert (await warehouse.post(f"/shipments/{sid}/pick", json={})).status_code == 200
        packed = await warehouse.post(
            f"/shipments/{sid}/pack", json={"packages": [{"weight_grams": 300}]}
        )
        assert packed.status_code == 200, packed.text
        await stack.wait_for_status(order_id, {"shipped"})

        claimed = await support.post(url, json=lost)
        assert claimed.status_code == 200, claimed.text
        [claim] = claimed.json()["claims"]
        assert (claim["by"], claim["kind"], claim["resolution"]) == (
            "dev-support",
            "lost",
            "reship",
        )
        [reship] = claim["reshipped_as"]
        again = await support.post(url, json=lost)
        assert again.status_code == 409 and again.json()["title"] == "AlreadyClaimed"

        done = await stack.fulfil(order_id)
        assert done["status"] == "completed"
        assert {s["shipment_id"]: s["status"] for s in done["shipments"]} == {
            sid: "claimed",
            reship: "delivered",
        }
        assert done["history"][-1]["note"] == "Every shipment delivered or settled by a claim"
        # Charged once, for the parcel that was lost; the reship was free.
        assert _ledger(stack, order_id, "capture") == [Decimal("298.00")]


async def test_an_exchange_to_a_dearer_variant_charges_the_difference(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        order_id = f"E2E-{uuid.uuid4().hex[:8].upper()}"
        body = order_body(order_id, [("TSHIRT-BLK-M", 1, "249.00")])
        assert (await stack.place(body)).status_code == 202
        assert (await stack.fulfil(order_id))["status"] == "completed"
        line = {"sku": "TSHIRT-BLK-M", "quantity": 1, "reason": "wrong_size"}
        url = f"/orders/{order_id}/returns"
        unknown = await stack.api.post(
            url,
            json={
                "lines": [line],
                "resolution": "exchange",
                "exchange_for": [{"sku": "NO-SUCH", "quantity": 1}],
            },
        )
        assert unknown.status_code == 422 and "exchange_for" in unknown.text
        asked = await stack.api.post(
            url,
            json={
                "lines": [line],
                "resolution": "exchange",
                "exchange_for": [{"sku": "HOODIE-GRY-L", "quantity": 1}],
            },
        )
        assert asked.status_code == 202, asked.text
        rma_id = asked.json()["rma_id"]

        async def awaiting() -> dict | None:
            ret = (await stack.api.get(f"/returns/{rma_id}")).json()
            return ret if ret["status"] == "awaiting_receipt" else None

        await wait_until(awaiting, 60, "never awaiting receipt")
        received = await stack.api.post(
            f"/returns/{rma_id}/receive",
            json={
                "warehouse_id": "WH-STO",
                "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1, "condition": "resellable"}],
            },
        )
        assert received.status_code == 200, received.text

        async def closed() -> dict | None:
            ret = (await stack.api.get(f"/returns/{rma_id}")).json()
            return ret if ret["status"] == "closed" else None

        ret = await wait_until(closed, 60, "never closed")
        assert ret["exchange_difference"] == "450.00"  # 699 - 249
        assert ret["exchange_order_id"] == f"{rma_id}-X"
        assert _ledger(stack, order_id, "capture") == [Decimal("298.00"), Decimal("450.00")]
        exchange = await stack.wait_for_status(f"{rma_id}-X", {"allocated", "picking"})
        assert [(ln["sku"], ln["unit_price"]) for ln in exchange["lines"]] == [
            ("HOODIE-GRY-L", "0.00")
        ]
        # The replacement shows what it is worth, what it replaces and the difference charged,
        # and the original order shows the same on its return.
        assert exchange["exchange_of"] == {
            "rma_id": rma_id,
            "order_id": order_id,
            "value": "699.00",
            "difference": "450.00",
        }
        [summary] = (await stack.order(order_id))["returns"]
        assert (summary["exchange_value"], summary["exchange_difference"]) == ("699.00", "450.00")
