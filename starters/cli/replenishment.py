"""``oms replenish``: the purchase orders raised for low stock."""

from __future__ import annotations

import click

from oms.settings import Settings
from starters.cli._common import list_command, pass_settings, resource_group, send

REFERENCE = click.argument("reference")


replenish = resource_group(
    "replenish",
    "low-stock replenishments: list, get, confirm, receive, retry",
    "/replenishment/{reference}",
    get_help="by workflow or purchase order id",
)


replenish.add_command(
    list_command(
        "/replenishment",
        click.option("--status", type=click.Choice(["open", "closed"])),
        click.option("--warehouse", "warehouse_id"),
        click.option("--sku"),
    )
)


@replenish.command(help="the supplier confirmed the purchase order")
@REFERENCE
@click.option("--supplier-ref", default="", help="the supplier's order number")
@pass_settings
def confirm(settings: Settings, reference: str, supplier_ref: str) -> int:
    body = {"supplier_reference": supplier_ref}
    return send(settings, f"/replenishment/{reference}/confirm", body)


@replenish.command(help="goods arrived (fills backorders oldest first)")
@REFERENCE
@click.argument("quantity", type=int)
@pass_settings
def receive(settings: Settings, reference: str, quantity: int) -> int:
    return send(settings, f"/replenishment/{reference}/receipts", {"quantity": quantity})


@replenish.command(help="raise the purchase order again (supplier linked)")
@REFERENCE
@pass_settings
def retry(settings: Settings, reference: str) -> int:
    return send(settings, f"/replenishment/{reference}/retry", {})
