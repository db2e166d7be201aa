"""End to end over real HTTP: API -> Temporal dev server -> worker -> store, carrier, SMTP.

Runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.service import RPCError

from oms.store.tables import LabelRow, ReservationRow, StockRow
from sandboxes.payments import LedgerRow
from workflows.order import order_workflow_id

from stack import order_body, running_stack

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


def _id() -> str:
    return f"E2E-{uuid.uuid4().hex[:8].upper()}"


async def test_order_goes_from_post_to_completed_with_emails_label_and_capture(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        order_id = _id()
        body = order_body(
            order_id, [("TSHIRT-BLK-M", 2, "249.00"), ("SOCKS-3PK", 1, "149.00")], locale="sv"
        )
        response = await stack.place(body)
        assert response.status_code == 202, response.text
        assert response.json() == {"order_id": order_id, "status": "received"}

        order = await stack.fulfil(order_id)

        assert order["status"] == "completed"
        # 2 x 249 + 149, and 49.00 standard shipping within Sweden (VAT included in both).
        assert order["total"] == "696.00"
        [shipment] = order["shipments"]
        assert shipment["warehouse_id"] == "WH-STO"  # nearest to Stockholm with everything
        assert shipment["carrier"] == "sandbox" and shipment["tracking_number"]
        statuses = [h["status"] for h in order["history"]]
        assert statuses[:3] == ["received", "confirmed", "allocated"]
        assert statuses[-2:] == ["delivered", "completed"]
        assert order["allocations"][0]["candidates"], "the decision lists warehouses considered"

        for key in (
            f"{order_id}:confirmed",
            f"{shipment['shipment_id']}:shipped",
            f"{shipment['shipment_id']}:delivered",
            f"{order_id}:completed",
        ):
            message = await stack.wait_for_email(key)
            assert message.to == "anna@example.com"
        confirmed = stack.smtp.messages_for(f"{order_id}:confirmed")[0]
        assert "696,00 SEK" in confirmed.text  # Swedish customer, Swedish money format

        with stack.db.session() as session:
            labels = session.scalars(
                select(LabelRow).where(LabelRow.shipment_id == shipment["shipment_id"])
            ).all()
            reservations = session.scalars(
                select(ReservationRow).where(ReservationRow.order_id == order_id)
            ).all()
        with stack.payments.session() as session:
            captures = session.scalars(
                select(LedgerRow).where(LedgerRow.order_id == order_id, LedgerRow.kind == "capture")
            ).all()
        assert len(labels) == 1
        assert [c.amount for c in captures] == [Decimal("696.00")]  # shipping included
        assert {r.status for r in reservations} == {"consumed"}
        assert sum(r.quantity for r in reservations) == 3


async def test_split_order_ships_from_two_warehouses(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        order_id = _id()
        # Jeans are only in Gothenburg, caps only in Stockholm.
        body = order_body(order_id, [("JEANS-IND-32", 1, "899.00"), ("CAP-NVY", 1, "199.00")])
        assert (await stack.place(body)).status_code == 202
        order = await stack.fulfil(order_id)
        assert order["status"] == "completed"
        assert sorted(s["warehouse_id"] for s in order["shipments"]) == ["WH-GOT", "WH-STO"]
        assert order["allocations"][0]["rule"] == "split_by_distance"


async def test_resubmitting_the_same_order_returns_it_and_a_different_body_conflicts(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        order_id = _id()
        body = order_body(order_id, [("CAP-NVY", 1, "199.00")])
        assert (await stack.place(body)).status_code == 202
        again = await stack.place(body)
        assert again.status_code == 200
        assert again.json()["order_id"] == order_id
        changed = order_body(order_id, [("CAP-NVY", 2, "199.00")])
        conflict = await stack.place(changed)
        assert conflict.status_code == 409
        assert conflict.json()["title"] == "OrderIdConflict"
        runs = [
            wf
            async for wf in temporal_client.list_workflows(
                f"WorkflowId = '{order_workflow_id(order_id)}'"
            )
        ]
        assert len(runs) == 1


async def test_cancel_releases_stock_and_voids_payment_then_refuses_after_shipping(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        with stack.db.session() as session:
            before = session.get(StockRow, ("WH-STO", "HOODIE-GRY-L"))
            assert before is not None
            reserved_before = before.reserved
        order_id = _id()
        assert (
            await stack.place(order_body(order_id, [("HOODIE-GRY-L", 2, "699.00")]))
        ).status_code == 202
        await stack.wait_for_status(order_id, {"allocated", "picking"})

        cancelled = await stack.api.post(f"/orders/{order_id}/cancel", json={"reason": "duplicate"})

        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert cancelled.json()["cancel_reason"] == "duplicate"
        with stack.db.session() as session:
            after = session.get(StockRow, ("WH-STO", "HOODIE-GRY-L"))
            assert after is not None and after.reserved == reserved_before
        with stack.payments.session() as session:
            kinds = session.scalars(
                select(LedgerRow.kind).where(LedgerRow.order_id == order_id)
            ).all()
        assert sorted(kinds) == ["authorize", "void"]
        await stack.wait_for_email(f"{order_id}:cancelled")
        again = await stack.api.post(f"/orders/{order_id}/cancel", json={"reason": "again"})
        assert again.status_code == 409

        shipped_id = _id()
        await stack.place(order_body(shipped_id, [("CAP-NVY", 1, "199.00")]))
        order = await stack.wait_for_status(shipped_id, {"picking", "allocated"})
        sid = order["shipments"][0]["shipment_id"] if order["shipments"] else f"{shipped_id}-S1"
        await stack.wait_for_status(shipped_id, {"picking"})
        assert (
            await stack.api.post(
                f"/shipments/{sid}/pack", json={"packages": [{"weight_grams": 300}]}
            )
        ).status_code == 409
        assert (await stack.api.post(f"/shipments/{sid}/pick", json={})).status_code == 200
        assert (
            await stack.api.post(
                f"/shipments/{sid}/pack", json={"packages": [{"weight_grams": 300}]}
            )
        ).status_code == 200
        await stack.wait_for_status(shipped_id, {"shipped"})
        refused = await stack.api.post(f"/orders/{shipped_id}/cancel", json={"reason": "late"})
        assert refused.status_code == 409
        assert refused.json()["title"] == "AlreadyShipped"


BAD_BODIES = {
    "unknown sku": (lambda b: b["lines"][0].update(sku="NOPE-1"), ["body", "lines", 0, "sku"]),
    "quantity below one": (
        lambda b: b["lines"][0].update(quantity=0),
        ["body", "lines", 0, "quantity"],
    ),
    "bad currency": (lambda b: b.update(currency="XYZ"), ["body", "currency"]),
    "bad email": (
        lambda b: b["customer"].update(email="not-an-email"),
        ["body", "customer", "email"],
    ),
    "missing ship_to": (lambda b: b.pop("ship_to"), ["body", "ship_to"]),
    "missing city": (lambda b: b["ship_to"].pop("city"), ["body", "ship_to", "city"]),
    "bad price": (
        lambda b: b["lines"][0].update(unit_price="12.345"),
        ["body", "lines", 0, "unit_price"],
    ),
    "no lines": (lambda b: b.update(lines=[]), ["body", "lines"]),
}


async def test_bad_input_gets_422_naming_the_field_and_starts_nothing(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        for name, (mutate, loc) in BAD_BODIES.items():
            order_id = _id()
            body = order_body(order_id, [("CAP-NVY", 1, "199.00")])
            mutate(body)
            response = await stack.place(body)
            assert response.status_code == 422, (name, response.text)
            locs = [err["loc"] for err in response.json()["errors"]]
            assert loc in locs, (name, locs)
            with pytest.raises(RPCError):
                await temporal_client.get_workflow_handle(order_workflow_id(order_id)).describe()
        malformed = await stack.api.post(
            "/orders",
            content=b'{"order_id": "X", "lines": [',
            headers={"content-type": "application/json"},
        )
        assert malformed.status_code == 422
        assert malformed.json()["errors"][0]["type"] == "json_invalid"
        with stack.db.session() as session:
            assert session.scalar(select(func.count()).select_from(ReservationRow)) == 0


async def test_a_sku_refused_as_unknown_is_accepted_once_it_is_in_the_catalogue(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    # The API asks the store for every order's SKUs (and their list prices): one added
    # after it was refused is known at once.
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        sku = f"NEW-{uuid.uuid4().hex[:6].upper()}"
        refused = await stack.place(order_body(_id(), [(sku, 1, "99.00")]))
        assert refused.status_code == 422
        assert ["body", "lines", 0, "sku"] in [e["loc"] for e in refused.json()["errors"]]
        # A weight no column holds is the caller's mistake, named, not a 500 (found by fuzzing).
        heavy = await stack.api.put(
            f"/products/{sku}",
            json={"name": "New thing", "unit_price": "99.00", "weight_grams": 10**24},
        )
        assert heavy.status_code == 422, heavy.text
        assert ["body", "weight_grams"] in [e["loc"] for e in heavy.json()["errors"]]
        added = await stack.api.put(
            f"/products/{sku}", json={"name": "New thing", "unit_price": "99.00"}
        )
        assert added.status_code == 200, added.text
        for _ in range(2):
            order_id = _id()
            accepted = await stack.place(order_body(order_id, [(sku, 1, "99.00")]))
            assert accepted.status_code == 202, accepted.text
            assert accepted.json()["order_id"] == order_id
