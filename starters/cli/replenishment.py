"""``oms replenish``: the purchase orders raised for low stock."""

from __future__ import annotations

import click

from starters.cli._commands import post_command, resource_group

replenish = resource_group(
    "replenish",
    "low-stock replenishments: list, get, confirm, receive, retry",
    "/replenishment/{reference}",
    list_options=(
        click.option("--status", type=click.Choice(["open", "closed"])),
        click.option("--warehouse", "warehouse_id"),
        click.option("--sku"),
    ),
    get_help="by workflow or purchase order id",
)


for _command in (
    post_command(
        "confirm",
        "/replenishment/{reference}/confirm",
        "the supplier confirmed the purchase order",
        click.option(
            "--supplier-ref",
            "supplier_reference",
            default="",
            help="the supplier's order number",
        ),
    ),
    post_command(
        "receive",
        "/replenishment/{reference}/receipts",
        "goods arrived (fills backorders oldest first)",
        click.argument("quantity", type=int),
    ),
    post_command(
        "retry",
        "/replenishment/{reference}/retry",
        "raise the purchase order again (supplier linked)",
    ),
):
    replenish.add_command(_command)
