"""The simulated warehouse packs the way a packer would: parcels the API accepts."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from oms.models.shipments import ConfirmPack
from oms.settings import Settings
from sandboxes import warehouse as warehouse_module
from sandboxes.warehouse import MAX_PARCEL_GRAMS, Warehouse, packages_for, step


def test_heavy_shipments_are_split_into_parcels_the_api_accepts() -> None:
    parcels = packages_for(150)  # 75 kg of goods
    assert sum(p["weight_grams"] for p in parcels) == 75_000
    assert all(p["weight_grams"] <= MAX_PARCEL_GRAMS for p in parcels)
    ConfirmPack(packages=parcels)  # type: ignore[arg-type]  # validates like the API does


def test_a_single_unit_is_one_parcel() -> None:
    assert packages_for(1) == [{"weight_grams": 500}]


def _pick_list(now: datetime) -> list[dict[str, Any]]:
    def shipment(sid: str, warehouse: str, picked: bool, age_s: float) -> dict[str, Any]:
        return {
            "shipment_id": sid,
            "warehouse_id": warehouse,
            "picked_by": "ann" if picked else None,
            "updated_at": (now - timedelta(seconds=age_s)).isoformat(),
            "lines": [{"sku": "CAP-NVY", "quantity": 2}],
        }

    return [
        shipment("NEW", "WH-STO", picked=False, age_s=10),
        shipment("PICKED", "WH-STO", picked=True, age_s=10),
        shipment("RECENT", "WH-STO", picked=False, age_s=0.5),
        shipment("MALMO", "WH-MMA", picked=False, age_s=10),
    ]


def _page(request: httpx.Request) -> dict[str, Any]:
    """The pick list as the API pages it: two shipments a page, so the simulator must
    follow ``next_cursor`` to see them all."""
    everything = _pick_list(datetime.now(UTC))
    if request.url.params.get("cursor") == "page-2":
        return {"items": everything[2:], "next_cursor": None}
    return {"items": everything[:2], "next_cursor": "page-2"}


async def _run_step(delay_s: float) -> tuple[int, list[str], int]:
    """One pass against a fake API; returns (advanced, calls, most calls in flight at once)."""
    calls: list[str] = []
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        if request.method == "GET":
            return httpx.Response(200, json=_page(request))
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        calls.append(request.url.path)
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        advanced = await step(client, delay_s, frozenset({"WH-STO"}), concurrency=1)
    return advanced, sorted(calls), peak


async def test_with_no_delay_a_shipment_is_picked_and_packed_in_one_pass() -> None:
    advanced, calls, peak = await _run_step(0)
    assert calls == [
        "/shipments/NEW/pack",
        "/shipments/NEW/pick",
        "/shipments/PICKED/pack",
        "/shipments/RECENT/pack",
        "/shipments/RECENT/pick",
    ]
    assert advanced == 5
    assert peak == 1  # concurrency=1: one packer


async def test_with_a_delay_the_pack_waits_for_a_later_pass() -> None:
    advanced, calls, _ = await _run_step(2)
    assert calls == ["/shipments/NEW/pick", "/shipments/PICKED/pack"]
    assert advanced == 2


async def test_a_shipment_being_worked_on_gets_no_second_packer() -> None:
    release = asyncio.Event()
    posts: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=_page(request))
        posts.append(request.url.path)
        await release.wait()  # a slow update: the worker died with its task
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        warehouse = Warehouse(client, 0, frozenset({"WH-STO"}))
        first = await warehouse.poll()
        await asyncio.sleep(0.05)
        second = await warehouse.poll()  # the list is read again while all three hang
        release.set()
        await asyncio.gather(*first)
        await warehouse.close()
    assert len(first) == 3 and second == []
    expected = ["NEW/pick", "NEW/pack", "PICKED/pack", "RECENT/pick", "RECENT/pack"]
    assert sorted(posts) == sorted(f"/shipments/{path}" for path in expected)


async def test_a_refused_token_is_an_error_in_the_log_not_a_silent_stall(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": {"message": "unknown or revoked token"}})

    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        warehouse = Warehouse(client, 0)
        with caplog.at_level(logging.ERROR), pytest.raises(httpx.HTTPStatusError):
            await warehouse.poll()
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "401" in record.getMessage() and "OMS_SIMULATOR_TOKEN" in record.getMessage()


async def test_an_unreachable_api_is_one_warning_naming_its_url_not_a_silent_stall(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OMS_API_PORT moves the simulator too (no OMS_API_URL): here to a port nobody serves.
    monkeypatch.delenv("OMS_API_URL", raising=False)
    monkeypatch.setattr(warehouse_module, "POLL_S", 0.01)
    settings = Settings(api_port=9, _env_file=None)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.3, stop.set)
    with caplog.at_level(logging.DEBUG, logger="oms.simulator"):
        await warehouse_module.run(settings, stop)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    # Once for the streak of failed polls, not once a poll.
    assert len(warnings) == 1, warnings
    assert "http://127.0.0.1:9" in warnings[0] and "OMS_API_URL" in warnings[0]
