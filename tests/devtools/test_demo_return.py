"""The demo's return (devtools.demo.place_return): the commands it prints receive the
parcel where the return's label sends it, against a stand-in API."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import devtools.demo as demo


def test_the_printed_receive_command_names_the_returns_own_warehouse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo.time, "sleep", lambda s: None)
    gets: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/orders":
            body: Any = {"order_id": json.loads(request.content)["order_id"], "status": "received"}
            return httpx.Response(202, json=body)
        if request.method == "POST" and path.endswith("/returns"):
            return httpx.Response(202, json={"rma_id": "RMA-D-1", "status": "requested"})
        if path.startswith("/orders/"):
            return httpx.Response(200, json={"status": "completed"})
        if path == "/returns/RMA-D-1":
            gets.append(path)
            # The workflow buys the label a moment after the request is accepted.
            label = {"return_to_warehouse_id": "WH-GOT"} if len(gets) > 1 else None
            return httpx.Response(200, json={"rma_id": "RMA-D-1", "label": label})
        return httpx.Response(404, json={"detail": path})

    plenty = [
        {"sku": "SOCKS-3PK", "unit_price": "149.00"},
        {"sku": "CAP-NVY", "unit_price": "199.00"},
    ]
    with httpx.Client(base_url="http://oms", transport=httpx.MockTransport(answer)) as api:
        steps = demo.place_return(api, plenty, wait_s=5)
    assert "oms return receive RMA-D-1 --warehouse WH-GOT --line SOCKS-3PK:1:resellable" in steps
    assert "WH-STO" not in steps
