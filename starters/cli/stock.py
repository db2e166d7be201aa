"""``oms stock`` and ``oms reorder``: stock levels and each SKU's reorder policy."""

from __future__ import annotations

from typing import Any

import click

from oms.settings import Settings
from starters.cli._commands import list_command
from starters.cli._common import pass_settings, send, show_get


@click.group(help="show or set stock")
def stock() -> None:
    pass


@stock.command("set", help="set on-hand units (fills backorders)")
@click.argument("warehouse_id")
@click.argument("sku")
@click.argument("on_hand", type=int)
@click.option("--reason", default="stock count", show_default=True, help="kept on the movement")
@pass_settings
def set_(settings: Settings, warehouse_id: str, sku: str, on_hand: int, reason: str) -> int:
    path = f"/warehouses/{warehouse_id}/stock/{sku}"
    return send(settings, path, {"on_hand": on_hand, "reason": reason}, method="PUT")


stock.add_command(
    list_command(
        "/stock",
        click.option("--sku"),
        click.option("--warehouse", "warehouse_id", help="one warehouse (error if unknown)"),
        help="stock by warehouse and SKU",
    )
)


@click.group(help="reorder point and quantity per warehouse and SKU")
def reorder() -> None:
    pass


def _policy(warehouse_id: str, sku: str) -> str:
    return f"/warehouses/{warehouse_id}/reorder-policies/{sku}"


@reorder.command("set", help="reorder when available <= POINT; order QTY")
@click.argument("warehouse_id")
@click.argument("sku")
@click.option("--point", type=int, required=True)
@click.option("--qty", type=int, required=True)
@click.option("--supplier", help="buy the SKU from this supplier id")
@pass_settings
def set_policy(
    settings: Settings, warehouse_id: str, sku: str, point: int, qty: int, supplier: str | None
) -> int:
    body: dict[str, Any] = {"reorder_point": point, "reorder_qty": qty}
    if supplier:
        body["supplier_id"] = supplier
    return send(settings, _policy(warehouse_id, sku), body, method="PUT")


@reorder.command("get")
@click.argument("warehouse_id")
@click.argument("sku")
@pass_settings
def get_policy(settings: Settings, warehouse_id: str, sku: str) -> int:
    return show_get(settings, _policy(warehouse_id, sku))
