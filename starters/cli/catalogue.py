"""``oms product``, ``oms warehouse``, ``oms company`` and ``oms supplier``: the master data
the API keeps (catalogue, warehouses and their stock, B2B companies and their credit,
suppliers)."""

from __future__ import annotations

import click

from oms.settings import Settings
from starters.cli._common import api, paged, pass_settings, post_file, show, show_get

FILE = click.argument("file")


@click.group(help="the catalogue: list products, create or change one")
def product() -> None:
    pass


@product.command("list")
@paged
@pass_settings
def list_products(settings: Settings) -> int:
    return show_get(settings, "/products")


@product.command("set", help="create or replace a product from a JSON file (- for stdin)")
@click.argument("sku")
@FILE
@pass_settings
def set_product(settings: Settings, sku: str, file: str) -> int:
    return post_file(settings, f"/products/{sku}", file, method="PUT")


@click.group(help="warehouses and the stock each holds")
def warehouse() -> None:
    pass


@warehouse.command("list")
@paged
@pass_settings
def list_warehouses(settings: Settings) -> int:
    return show_get(settings, "/warehouses")


@warehouse.command("stock", help="every SKU's stock in one warehouse")
@click.argument("warehouse_id")
@paged
@pass_settings
def warehouse_stock(settings: Settings, warehouse_id: str) -> int:
    return show_get(settings, f"/warehouses/{warehouse_id}/stock")


@click.group(help="B2B companies: list, create or change one, its credit")
def company() -> None:
    pass


@company.command("list")
@paged
@pass_settings
def list_companies(settings: Settings) -> int:
    return show_get(settings, "/companies")


@company.command("set", help="create or replace a company from a JSON file (- for stdin)")
@click.argument("company_id")
@FILE
@pass_settings
def set_company(settings: Settings, company_id: str, file: str) -> int:
    return post_file(settings, f"/companies/{company_id}", file, method="PUT")


@company.command("credit", help="limit, reserved, used and available credit")
@click.argument("company_id")
@pass_settings
def credit(settings: Settings, company_id: str) -> int:
    return show_get(settings, f"/companies/{company_id}/credit")


@company.command("members", help="the customers who may buy for the company")
@click.argument("company_id")
@paged
@pass_settings
def members(settings: Settings, company_id: str) -> int:
    return show_get(settings, f"/companies/{company_id}/members")


@company.command("add-member", help="let a customer buy for the company (invoice, quotes)")
@click.argument("company_id")
@click.argument("customer_id")
@pass_settings
def add_member(settings: Settings, company_id: str, customer_id: str) -> int:
    with api(settings) as client:
        return show(client.put(f"/companies/{company_id}/members/{customer_id}"))


@company.command("remove-member", help="end a customer's membership")
@click.argument("company_id")
@click.argument("customer_id")
@pass_settings
def remove_member(settings: Settings, company_id: str, customer_id: str) -> int:
    with api(settings) as client:
        return show(client.delete(f"/companies/{company_id}/members/{customer_id}"))


@click.group(help="suppliers purchase orders go to")
def supplier() -> None:
    pass


@supplier.command("list")
@paged
@pass_settings
def list_suppliers(settings: Settings) -> int:
    return show_get(settings, "/suppliers")


@supplier.command("set", help="create or replace a supplier from a JSON file (- for stdin)")
@click.argument("supplier_id")
@FILE
@pass_settings
def set_supplier(settings: Settings, supplier_id: str, file: str) -> int:
    return post_file(settings, f"/suppliers/{supplier_id}", file, method="PUT")
