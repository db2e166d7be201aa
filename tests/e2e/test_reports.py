"""Reports count the orders placed through the real API and workflows (JSON, CSV, CLI)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import Client

from stack import ROOT, order_body, running_stack

pytestmark = pytest.mark.slow


async def test_reports_count_orders_placed_through_the_api(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        placed = await stack.place(order_body("RPT-1", [("TSHIRT-BLK-M", 2, "249.00")]))
        assert placed.status_code in (200, 201, 202), placed.text
        placed = await stack.place(order_body("RPT-2", [("SOCKS-3PK", 1, "149.00")]))
        assert placed.status_code in (200, 201, 202), placed.text
        await stack.fulfil("RPT-1")
        await stack.wait_for_status("RPT-2", {"allocated", "picking"})
        cancel = await stack.api.post("/orders/RPT-2/cancel", json={"reason": "changed my mind"})
        assert cancel.status_code == 200, cancel.text
        await stack.wait_for_status("RPT-2", {"cancelled"})
        today = datetime.now(UTC).date()

        orders = (await stack.api.get("/reports/orders")).json()
        assert [
            (r["day"], r["channel"], r["currency"], r["orders"], r["cancelled"])
            for r in orders["rows"]
        ] == [(today.isoformat(), "web", "SEK", 2, 1)]
        # 2 x 249.00 and 49.00 shipping (the cancelled order earns nothing).
        assert Decimal(orders["rows"][0]["revenue"]) == Decimal("547.00")

        funnel = {r["stage"]: r for r in (await stack.api.get("/reports/funnel")).json()["rows"]}
        assert [funnel[s]["orders"] for s in funnel] == [2, 2, 2, 1, 1]
        assert funnel["delivered"]["p50_hours"] >= funnel["shipped"]["p50_hours"] > 0

        cancellations = (await stack.api.get("/reports/cancellations")).json()["rows"]
        assert [(r["reason"], r["orders"]) for r in cancellations] == [("changed my mind", 1)]

        skus = (await stack.api.get("/reports/skus")).json()["rows"]
        assert (skus[0]["sku"], skus[0]["units"], skus[0]["rank"]) == ("TSHIRT-BLK-M", 2, 1)
        assert next(r for r in skus if r["sku"] == "SOCKS-3PK")["selling"] is False

        forecast = (await stack.api.get("/reports/forecast", params={"sku": "TSHIRT-BLK-M"})).json()
        # The range ends today; today is not a whole day yet: the forecast starts today,
        # and today's row shows the units so far beside it.
        assert forecast["end"] == today.isoformat()
        first = next(r for r in forecast["rows"] if r["forecast"] is not None)
        assert (first["day"], first["actual"]) == (str(today), 2.0)
        assert len([r for r in forecast["rows"] if r["forecast"] is not None]) == 14
        assert forecast["reorder"]["available"] == 40 + 30 + 15 - 2  # demo stock, minus RPT-1

        # CSV by parameter and by Accept header: the same rows.
        by_param = await stack.api.get("/reports/orders", params={"format": "csv"})
        by_accept = await stack.api.get("/reports/orders", headers={"accept": "text/csv"})
        assert by_param.headers["content-type"].startswith("text/csv")
        assert by_param.text == by_accept.text
        assert list(csv.DictReader(io.StringIO(by_param.text))) == [
            {
                "day": today.isoformat(),
                "channel": "web",
                "currency": "SEK",
                "orders": "2",
                "cancelled": "1",
                "revenue": "547.00",
                # VAT included at 25%: a fifth of 498.00 and of 49.00 shipping.
                "net": "437.60",
                "tax": "109.40",
                "base_currency": "SEK",
                "revenue_base": "547.00",
            }
        ]
        empty = await stack.api.get("/reports/backorders", params={"format": "csv"})
        assert empty.text == "order_id,sku,quantity_open,placed_at,age_days\n"

        # The CLI prints the same CSV through the API.
        env = dict(os.environ, OMS_API_URL=stack.settings.api_url)
        cli = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "starters.cli", "report", "orders", "--csv"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        assert cli.stdout == by_param.text

        # The HTML page: four inline SVG charts, nothing fetched from anywhere.
        page = await stack.api.get("/reports")
        assert page.headers["content-type"].startswith("text/html")
        assert page.text.count("<svg") == 4
        assert "<script" not in page.text and "src=" not in page.text


BAD_PARAMETERS = [
    ("/reports/orders", {"from": "2026-13-01"}, "from"),
    ("/reports/orders", {"to": "yesterday"}, "to"),
    ("/reports/funnel", {"from": "2026-03-05", "to": "2026-03-01"}, "from"),
    ("/reports/skus", {"from": "2020-01-01", "to": "2026-01-01"}, "from"),
    ("/reports/low-stock", {"below": "0"}, "below"),
    ("/reports/orders", {"format": "xml"}, "format"),
    ("/reports/forecast", {}, "sku"),
    ("/reports/forecast", {"sku": "NO-SUCH-SKU"}, "sku"),
    ("/reports/forecast", {"sku": "CAP-NVY", "warehouse": "WH-NOWHERE"}, "warehouse"),
    ("/reports/forecast", {"sku": "CAP-NVY", "service_level": "1.5"}, "service_level"),
    ("/reports", {"to": "2026-02-30"}, "to"),
]


async def test_bad_report_parameters_are_a_422_naming_the_field(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        for path, params, field in BAD_PARAMETERS:
            response = await stack.api.get(path, params=params)
            assert response.status_code == 422, (path, params, response.text)
            locs = [err["loc"][-1] for err in response.json()["errors"]]
            assert field in locs, (path, params, locs)
