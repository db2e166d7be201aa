"""``oms order`` and ``oms shipment``: orders and the warehouse's steps on their shipments."""

from __future__ import annotations

import json
import uuid

import click

from oms.settings import Settings
from starters.cli._commands import (
    decision_command,
    get_command,
    list_command,
    post_command,
    reason_command,
    resource_group,
)
from starters.cli._common import pass_settings, send, sku_quantity_option, with_role

# What ``oms order list`` filters on: the query parameters of ``GET /orders``.
FILTERS = (
    click.option("--status"),
    click.option("--customer", "customer_id", help="staff: one customer's orders"),
    click.option("-q", "--query", "q", help="an order id, a customer's email, or a name's start"),
    click.option("--email", help="the customer's email (any case)"),
    click.option("--sku", help="orders with a line of this SKU"),
    click.option(
        "--tracking",
        "tracking_number",
        help="orders with a shipment of this tracking number",
    ),
    click.option("--channel"),
    click.option("--placed-from", help="placed at or after (ISO 8601)"),
    click.option("--placed-to", help="placed before (ISO 8601)"),
)

order = resource_group(
    "order",
    "place, get, list, search, edit, note, hold, release, approve, refund or cancel orders "
    "(or lines)",
    "/orders/{order_id}",
    list_options=FILTERS,
    list_help="list orders, newest first; every option given must match",
    create=("place", "place an order from a JSON file (- for stdin)"),
)


for _command in (
    post_command(
        "note",
        "/orders/{order_id}/notes",
        "keep a note on an order (you are the author)",
        click.argument("text"),
        click.option("--tag", "tags", multiple=True, help="a label (repeat for more)"),
    ),
    reason_command(
        "hold", "/orders/{order_id}/hold", "support/ops: hold an order before allocation"
    ),
    reason_command(
        "release",
        "/orders/{order_id}/release",
        "support/ops: release an order's hold (it goes on to allocation)",
    ),
    reason_command("cancel", "/orders/{order_id}/cancel"),
    get_command(
        "invoices",
        "/orders/{order_id}/invoices",
        "an invoice-term order's invoices (one per shipment) and credit notes",
        pages=True,
    ),
):
    order.add_command(_command)


KEY = click.option(
    "--key",
    help="the request key (Idempotency-Key): run again with the same key to retry safely; "
    "a new one is made and printed on stderr when omitted",
)
CUSTOMER_NOTE = click.option(
    "--customer-note",
    help="why, in words for the customer: their email gives it (--reason never reaches them)",
)


def _key(key: str | None) -> dict[str, str]:
    """The Idempotency-Key header: ``key``, or a new one printed on stderr to retry with."""
    if key is None:
        key = uuid.uuid4().hex
        click.echo(f"key: {key}", err=True)
    return {"Idempotency-Key": key}


@order.command(help="refund part of an order without a return, once per --key")
@click.argument("order_id")
@click.option("--amount", required=True, help="in the order's currency, e.g. 49.00")
@click.option("--reason", required=True)
@KEY
@pass_settings
def refund(settings: Settings, order_id: str, amount: str, reason: str, key: str | None) -> int:
    body = {"amount": amount, "reason": reason}
    return send(settings, f"/orders/{order_id}/refunds", body, headers=_key(key))


@order.command(help="change lines, address or speed of an order before its pick")
@click.argument("order_id")
@sku_quantity_option(
    "--line",
    "lines",
    help="a line's new quantity (0 takes it off; a new SKU is added); repeat for more",
)
@click.option("--ship-to", help='the new address as JSON: {"name", "line1", "postal_code", ...}')
@click.option("--speed", type=click.Choice(["standard", "express"]))
@click.option("--reason", required=True)
@CUSTOMER_NOTE
@KEY
@pass_settings
def edit(
    settings: Settings,
    order_id: str,
    lines: list[tuple[str, int]],
    ship_to: str | None,
    speed: str | None,
    reason: str,
    customer_note: str | None,
    key: str | None,
) -> int:
    body: dict[str, object] = {"reason": reason}
    if customer_note:
        body["customer_note"] = customer_note
    if lines:
        body["lines"] = [{"sku": sku, "quantity": qty} for sku, qty in lines]
    if ship_to:
        try:
            body["ship_to"] = json.loads(ship_to)
        except ValueError as err:
            raise click.BadParameter(f"not JSON: {err}", param_hint="--ship-to") from err
    if speed:
        body["shipping_speed"] = speed
    return send(settings, f"/orders/{order_id}/edits", body, headers=_key(key))


@order.command("cancel-line", help="cancel units of one line until they ship (the rest goes on)")
@click.argument("order_id")
@click.argument("sku")
@click.option("--quantity", required=True, type=click.IntRange(min=1), help="units to cancel")
@click.option("--reason", required=True)
@CUSTOMER_NOTE
@KEY
@pass_settings
def cancel_line(
    settings: Settings,
    order_id: str,
    sku: str,
    quantity: int,
    reason: str,
    customer_note: str | None,
    key: str | None,
) -> int:
    body: dict[str, object] = {"quantity": quantity, "reason": reason}
    if customer_note:
        body["customer_note"] = customer_note
    path = f"/orders/{order_id}/lines/{sku}/cancel"
    return send(settings, path, body, headers=_key(key))


@order.command("approve-credit", help="finance: let an order go over its credit limit")
@click.argument("order_id")
@click.option("--role", help="admin tokens only: the role to approve as")
@click.option("--comment")
@pass_settings
def approve_credit(settings: Settings, order_id: str, role: str | None, comment: str | None) -> int:
    body = with_role({"comment": comment}, role)
    return send(settings, f"/orders/{order_id}/credit-approval", body)


for _decision in ("approve", "reject"):
    order.add_command(
        decision_command(
            _decision,
            "/orders/{order_id}/approvals",
            f"approver: {_decision} an order's purchase order. A company order the approval "
            "rules hold waits on_hold (stage awaiting_po_approval) for its approvers; a "
            "rejection cancels it.",
        )
    )


@click.group(help="warehouse steps: list, pick, pack; claims on lost or damaged parcels")
def shipment() -> None:
    pass


shipment.add_command(
    list_command(
        "/shipments", click.option("--warehouse", "warehouse_id"), click.option("--status")
    )
)


@shipment.command(help="confirm a pick: every line, or with --picked only those units")
@click.argument("shipment_id")
@sku_quantity_option(
    "--picked",
    "short",
    help="a short pick: units picked of one SKU (repeat; a SKU left out: none picked)",
)
@pass_settings
def pick(settings: Settings, shipment_id: str, short: list[tuple[str, int]]) -> int:
    body: dict[str, object] = {}
    if short:
        # SKU=0 says none was picked: the same as leaving the SKU out.
        body["lines"] = [{"sku": sku, "quantity": qty} for sku, qty in short if qty]
    return send(settings, f"/shipments/{shipment_id}/pick", body)


shipment.add_command(
    post_command(
        "claim",
        "/shipments/{shipment_id}/claims",
        "support/ops: a parcel was lost or damaged; reship or refund it",
        click.option("--kind", required=True, type=click.Choice(["lost", "damaged"])),
        click.option("--resolution", required=True, type=click.Choice(["reship", "refund"])),
        click.option("--reason", default=""),
    )
)


@shipment.command()
@click.argument("shipment_id")
@click.option(
    "--weight",
    type=int,
    multiple=True,
    required=True,
    help="weight in grams of one package (repeat for more)",
)
@pass_settings
def pack(settings: Settings, shipment_id: str, weight: tuple[int, ...]) -> int:
    packages = [{"weight_grams": w} for w in weight]
    return send(settings, f"/shipments/{shipment_id}/pack", {"packages": packages})
