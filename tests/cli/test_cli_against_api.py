"""The CLI against the real API (uvicorn, SQLite store, the session's Temporal dev server):
what a person at a terminal sees when something is refused or unreachable."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from devtools.demo.catalogue import seed_demo
from oms.models.common import SkuQuantity
from oms.models.inventory import AllocateRequest
from oms.store import inventory
from oms.store.db import Database
from oms.store.migrate import upgrade
from starters.cli import main

from smtp_fixtures import free_port
from stack import running_api, stack_settings

pytestmark = pytest.mark.timeout(120)


def _run(*argv: str) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    return int(exit_.value.code or 0)


async def test_an_unknown_order_is_one_line_on_stderr_and_exit_1(
    dev_server: WorkflowEnvironment,
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upgrade(sqlite_url)
    db = Database(sqlite_url)
    with db.session() as session:
        seed_demo(session)
    db.dispose()
    target = dev_server.client.service_client.config.target_host
    settings = stack_settings(sqlite_url, target, tmp_path)
    with running_api(settings) as url:
        code = await asyncio.to_thread(_run, "--api-url", url, "order", "get", "NOPE")
        out, err = capsys.readouterr()
        assert code == 1
        assert out == ""
        assert err.count("\n") == 1 and err.startswith("error: HTTP 404: NotFound: ")
        assert "NOPE" in err
        # A value out of range: the problem's title, and the field and why said once.
        reorder = ["reorder", "set", "WH-STO", "CAP-NVY", "--point", "-5", "--qty", "9"]
        code = await asyncio.to_thread(_run, "--api-url", url, *reorder)
        out, err = capsys.readouterr()
        assert code == 1 and out == ""
        assert err.startswith("error: HTTP 422: ValidationError: ") and err.count("\n") == 1
        assert err.count("reorder_point") == 1, err
        # A refused body names the field in the same one line.
        code = await asyncio.to_thread(
            _run, "--api-url", url, "order", "list", "--status", "teleported"
        )
        out, err = capsys.readouterr()
        assert code == 1 and out == ""
        assert err.startswith("error: HTTP 422: ") and "status" in err
        assert err.count("\n") == 1
        # A token the API does not know: refused in one line too.
        code = await asyncio.to_thread(
            _run, "--api-url", url, "--token", "nope", "-o", "table", "order", "list"
        )
        assert code == 1 and capsys.readouterr().err.startswith("error: HTTP 401: ")
        code = await asyncio.to_thread(_run, "--api-url", url, "-o", "table", "warehouse", "list")
        out, _ = capsys.readouterr()
        assert code == 0
        header, *rows = out.splitlines()
        assert header.split()[:2] == ["WAREHOUSE_ID", "NAME"] and len(rows) >= 3


async def test_an_unseeded_store_gets_a_warehouse_and_stock_from_a_terminal(
    dev_server: WorkflowEnvironment,
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # What production runs: ``oms db --no-seed``, then the catalogue through the API.
    upgrade(sqlite_url)
    target = dev_server.client.service_client.config.target_host
    settings = stack_settings(sqlite_url, target, tmp_path)
    warehouse = tmp_path / "warehouse.json"
    warehouse.write_text(
        '{"name": "Malmö DC", "line1": "Agnesfridsvägen 113", "postal_code": "212 37",'
        ' "city": "Malmö", "country": "SE"}'
    )
    product = tmp_path / "product.json"
    product.write_text('{"name": "Tee", "unit_price": "249.00"}')
    with running_api(settings) as url:

        async def oms(*argv: str) -> str:
            code = await asyncio.to_thread(_run, "--api-url", url, *argv)
            out, err = capsys.readouterr()
            assert code == 0, err
            return out

        await oms("warehouse", "set", "WH-1", str(warehouse))
        await oms("product", "set", "TEE", str(product))
        stocked = json.loads(await oms("stock", "set", "WH-1", "TEE", "10"))
        assert stocked["stock"]["available"] == 10
        got = json.loads(await oms("warehouse", "get", "WH-1"))
        assert (got["city"], got["active"]) == ("Malmö", True)
        header, *rows = (await oms("-o", "table", "warehouse", "list")).splitlines()
        assert header.split()[0] == "WAREHOUSE_ID"
        assert [row.split()[0] for row in rows] == ["WH-1"]
        # A body the API refuses: one line naming the field, exit 1.
        warehouse.write_text('{"name": "X", "line1": "Y", "postal_code": "1", "city": "Z"}')
        code = await asyncio.to_thread(
            _run, "--api-url", url, "warehouse", "set", "WH-2", str(warehouse)
        )
        out, err = capsys.readouterr()
        assert code == 1 and out == "" and err.count("\n") == 1
        assert err.startswith("error: HTTP 422: ValidationError: ") and "country" in err

    db = Database(sqlite_url)
    try:
        with db.session() as session:
            decision = inventory.allocate(
                session,
                AllocateRequest(
                    key="O-1:allocate",
                    order_id="O-1",
                    lines=[SkuQuantity(sku="TEE", quantity=3)],
                    postal_code="211 20",
                    city="Malmö",
                    country="SE",
                    placed_at=datetime.now(UTC),
                ),
            )
    finally:
        db.dispose()
    assert [s.warehouse_id for s in decision.shipments] == ["WH-1"]


def test_an_api_that_is_down_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert _run("--api-url", url, "order", "get", "O-1") == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and f"cannot reach the OMS API at {url}" in err
    assert "Traceback" not in err
