"""Every list the API serves pages the same way: ``limit``, ``cursor``, ``next_cursor``.

The real app on a migrated, seeded SQLite store (no Temporal needed for lists).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from oms.settings import Settings
from starters.api.app import create_app

from app_fixtures import app_clients


@pytest.fixture
async def api(migrated_sqlite_url: str) -> Any:
    async with app_clients(migrated_sqlite_url, "admin") as clients:
        yield clients["admin"]


async def _walk(api: httpx.AsyncClient, path: str, limit: int) -> list[list[Any]]:
    pages: list[list[Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        response = await api.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        if body["next_cursor"] is None:
            return pages
        params["cursor"] = body["next_cursor"]


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/products", "sku"),
        ("/warehouses", "warehouse_id"),
        ("/stock", "sku"),
        ("/warehouses/WH-STO/stock", "sku"),
        ("/companies", "company_id"),
        ("/suppliers", "supplier_id"),
    ],
)
async def test_walking_the_pages_gives_every_item_once_in_order(
    api: httpx.AsyncClient, path: str, key: str
) -> None:
    whole = (await api.get(path, params={"limit": 500})).json()
    assert whole["next_cursor"] is None and len(whole["items"]) >= 2
    pages = await _walk(api, path, 2)
    assert all(len(page) == 2 for page in pages[:-1]) and 1 <= len(pages[-1]) <= 2
    assert [item for page in pages for item in page] == whole["items"]


async def test_a_foreign_cursor_or_limit_out_of_range_is_a_422_naming_the_parameter(
    api: httpx.AsyncClient,
) -> None:
    for params, loc in (({"cursor": "bm9wZQ"}, "cursor"), ({"limit": 0}, "limit")):
        response = await api.get("/products", params=params)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["loc"] == ["query", loc]


async def test_a_cursor_works_only_on_the_list_that_handed_it_out(
    api: httpx.AsyncClient,
) -> None:
    handed = (await api.get("/products", params={"limit": 1})).json()["next_cursor"]
    assert (await api.get("/products", params={"cursor": handed})).status_code == 200
    # Both lists are keyed by one text column, so the keys alone would decode there.
    for path in ("/suppliers", "/companies", "/warehouses"):
        response = await api.get(path, params={"cursor": handed})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["errors"][0]["loc"] == ["query", "cursor"]


def test_every_list_in_the_openapi_is_a_page_with_limit_and_cursor() -> None:
    schema = create_app(Settings()).openapi()
    pages = 0
    for path, item in schema["paths"].items():
        get = item.get("get")
        if get is None:
            continue
        answer = get["responses"]["200"]["content"].get("application/json", {}).get("schema", {})
        assert answer.get("type") != "array", f"GET {path} answers a bare list"
        if answer.get("$ref", "").startswith("#/components/schemas/Page_"):
            pages += 1
            names = {p["name"] for p in get.get("parameters", [])}
            assert {"limit", "cursor"} <= names, path
    assert pages >= 12


async def test_the_stock_of_an_unknown_warehouse_is_a_404_not_an_empty_page(
    api: httpx.AsyncClient,
) -> None:
    for path, params in (
        ("/warehouses/WH-NOPE/stock", {}),
        ("/stock", {"warehouse_id": "WH-NOPE"}),
    ):
        response = await api.get(path, params=params)
        assert response.status_code == 404, response.text
        assert response.json()["type"].endswith("UnknownWarehouse")
        assert "WH-NOPE" in response.json()["detail"]
    only = (await api.get("/stock", params={"warehouse_id": "WH-STO", "limit": 500})).json()
    assert only["items"] and {level["warehouse_id"] for level in only["items"]} == {"WH-STO"}
    # A known warehouse with nothing of a SKU is still a 200 (an empty page is the truth).
    assert (await api.get("/warehouses/WH-STO/stock")).status_code == 200
