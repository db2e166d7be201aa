"""``oms order`` and ``oms shipment``: orders and the warehouse's steps on their shipments."""

from __future__ import annotations

import click

from oms.settings import Settings
from starters.cli._common import api, paged, pass_settings, post_file, show, show_get, with_role


@click.group(help="place, get, list or cancel orders")
def order() -> None:
    pass


@order.command(help="place an order from a JSON file (- for stdin)")
@click.argument("file")
@pass_settings
def place(settings: Settings, file: str) -> int:
    return post_file(settings, "/orders", file)


@order.command()
@click.argument("order_id")
@pass_settings
def get(settings: Settings, order_id: str) -> int:
    with api(settings) as client:
        return show(client.get(f"/orders/{order_id}"))


@order.command("list")
@click.option("--status")
@click.option("--customer", help="staff: one customer's orders")
@paged
@pass_settings
def list_(settings: Settings, status: str | None, customer: str | None) -> int:
    return show_get(settings, "/orders", status=status, customer_id=customer)


@order.command()
@click.argument("order_id")
@click.option("--reason", required=True)
@pass_settings
def cancel(settings: Settings, order_id: str, reason: str) -> int:
    with api(settings) as client:
        return show(client.post(f"/orders/{order_id}/cancel", json={"reason": reason}))


@order.command("approve-credit", help="finance: let an order go over its credit limit")
@click.argument("order_id")
@click.option("--role", help="admin tokens only: the role to approve as")
@click.option("--comment")
@pass_settings
def approve_credit(settings: Settings, order_id: str, role: str | None, comment: str | None) -> int:
    body = with_role({"comment": comment}, role)
    with api(settings) as client:
        return show(client.post(f"/orders/{order_id}/credit-approval", json=body))


@click.group(help="warehouse steps: list, pick, pack")
def shipment() -> None:
    pass


@shipment.command("list")
@click.option("--warehouse")
@click.option("--status")
@paged
@pass_settings
def list_shipments(settings: Settings, warehouse: str | None, status: str | None) -> int:
    return show_get(settings, "/shipments", warehouse_id=warehouse, status=status)


@shipment.command()
@click.argument("shipment_id")
@pass_settings
def pick(settings: Settings, shipment_id: str) -> int:
    with api(settings) as client:
        return show(client.post(f"/shipments/{shipment_id}/pick", json={}))


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
    with api(settings) as client:
        return show(client.post(f"/shipments/{shipment_id}/pack", json={"packages": packages}))
