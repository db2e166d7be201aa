"""``PUT /products/{sku}`` replaces a whole product, so it cannot leave out the price, and
``GET /products/{sku}`` reads one back (over real HTTP, a real SQLite store).

Before: a PUT of only ``{"name": ...}`` set the SEK list price to 0.00 and orders for the
product went through priced 0.00; a single product could not be read (405).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from stack import api_alone

pytestmark = [pytest.mark.timeout(120)]

ADMIN = {"Authorization": "Bearer dev-admin"}


async def test_a_product_put_without_its_price_is_a_422_and_the_price_is_kept(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with api_alone(temporal_client, migrated_sqlite_url, tmp_path) as (url, _):
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=ADMIN) as admin:
            before = await admin.get("/price-lists/SEK/prices/TSHIRT-WHT-M")
            assert before.status_code == 200, before.text
            assert before.json()["unit_price"] != "0.00"
            renamed = await admin.put("/products/TSHIRT-WHT-M", json={"name": "renamed"})
            assert renamed.status_code == 422, renamed.text
            assert ["body", "unit_price"] in [e["loc"] for e in renamed.json()["errors"]]
            new = await admin.put("/products/NEW-1", json={"name": "x"})
            assert new.status_code == 422, new.text
            after = await admin.get("/price-lists/SEK/prices/TSHIRT-WHT-M")
            assert after.json() == before.json()
            assert (await admin.get("/products/NEW-1")).status_code == 404
            product = await admin.get("/products/TSHIRT-WHT-M")
            assert product.json()["name"] != "renamed"


async def test_one_product_is_read_back_as_it_was_put_and_an_unknown_sku_is_404(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with api_alone(temporal_client, migrated_sqlite_url, tmp_path) as (url, _):
        async with httpx.AsyncClient(base_url=url, timeout=30) as api:
            body = {"name": "Wool cap", "unit_price": "149.50", "weight_grams": 120}
            put = await api.put("/products/CAP-WOOL", json=body, headers=ADMIN)
            assert put.status_code == 200, put.text
            buyer = {"Authorization": "Bearer dev-buyer"}
            read = await api.get("/products/CAP-WOOL", headers=buyer)
            assert read.status_code == 200, read.text
            assert read.json() == put.json()
            assert read.json()["unit_price"] == "149.50"
            assert read.json()["weight_grams"] == 120
            unknown = await api.get("/products/NO-SUCH-SKU", headers=ADMIN)
            assert unknown.status_code == 404
            assert unknown.json()["title"] == "UnknownSku"
            assert (await api.get("/products/CAP-WOOL")).status_code == 401
