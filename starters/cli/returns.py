"""``oms return``: returns from request to refund."""

from __future__ import annotations

from typing import Any

import click

from oms.settings import Settings
from starters.cli._commands import post_command, reason_command, resource_group
from starters.cli._common import pass_settings, send, sku_quantity_option


def _triples(values: tuple[str, ...], what: str, third: str) -> list[dict[str, Any]]:
    """Parse ``SKU:QTY:REASON`` (or ``SKU:QTY:CONDITION``) arguments."""
    parsed = []
    for value in values:
        parts = value.split(":")
        if len(parts) != 3 or not parts[1].isdigit():
            raise SystemExit(f"{what} must look like SKU:QTY:{third.upper()}, got {value!r}")
        parsed.append({"sku": parts[0], "quantity": int(parts[1]), third: parts[2]})
    return parsed


return_ = resource_group(
    "return",
    "returns: request (refund, exchange), authorize, receive, refund",
    "/returns/{rma_id}",
    list_options=(
        click.option("--order", "order_id"),
        click.option("--status"),
        click.option("--reason", help="returns with a line given this reason"),
    ),
)


@return_.command(help="customer: return delivered lines of an order")
@click.argument("order_id")
@click.option(
    "--line", multiple=True, required=True, help="SKU:QTY:REASON, e.g. CAP-NVY:1:wrong_size"
)
@click.option("--resolution", default="refund", type=click.Choice(["refund", "exchange"]))
@sku_quantity_option(
    "--exchange-for",
    help="exchange to another variant: what to send instead (repeat; implies exchange)",
)
@pass_settings
def request(
    settings: Settings,
    order_id: str,
    line: tuple[str, ...],
    resolution: str,
    exchange_for: list[tuple[str, int]],
) -> int:
    body: dict[str, object] = {
        "lines": _triples(line, "--line", "reason"),
        "resolution": "exchange" if exchange_for else resolution,
    }
    if exchange_for:
        body["exchange_for"] = [{"sku": sku, "quantity": qty} for sku, qty in exchange_for]
    return send(settings, f"/orders/{order_id}/returns", body)


return_.add_command(
    post_command(
        "authorize",
        "/returns/{rma_id}/authorize",
        "support: authorize a return held for a person",
        click.option("--comment"),
    )
)
return_.add_command(
    reason_command("reject", "/returns/{rma_id}/reject", "support: reject a return")
)


@return_.command(help="warehouse: the parcel arrived")
@click.argument("rma_id")
@click.option("--warehouse", required=True)
@click.option(
    "--line",
    multiple=True,
    required=True,
    help="SKU:QTY:CONDITION with condition resellable, damaged or wrong_item",
)
@pass_settings
def receive(settings: Settings, rma_id: str, warehouse: str, line: tuple[str, ...]) -> int:
    body = {"warehouse_id": warehouse, "lines": _triples(line, "--line", "condition")}
    return send(settings, f"/returns/{rma_id}/receive", body)


return_.add_command(
    reason_command(
        "retry-refund",
        "/returns/{rma_id}/retry-refund",
        "operations: retry a declined refund",
        required=False,
    )
)
