"""``oms product``, ``oms warehouse``, ``oms company`` and ``oms supplier``: the master data
the API keeps (catalogue, warehouses and their stock, B2B companies, their members and
credit, suppliers)."""

from __future__ import annotations

import click

from oms.settings import Settings
from starters.cli._commands import file_command, get_command, post_command
from starters.cli._common import paged, pass_settings, post_file, send, show_get


def master_data(name: str, path: str, help: str, key: str | None) -> click.Group:
    """A command group over ``path``: ``list`` (paged) and, with ``key``, ``set KEY FILE``
    (create or replace one from a JSON file, ``-`` for stdin)."""
    group = click.Group(name, help=help)

    @group.command("list")
    @paged
    @pass_settings
    def list_(settings: Settings) -> int:
        return show_get(settings, path)

    if key is not None:

        @group.command(
            "set",
            help=f"create or replace a {name} from a JSON file (- for stdin); a PUT replaces "
            f"every field: give them all, one left out takes its default",
        )
        @click.argument("key", metavar=key.upper())
        @click.argument("file")
        @pass_settings
        def set_(settings: Settings, key: str, file: str) -> int:
            return post_file(settings, f"{path}/{key}", file, method="PUT")

    return group


product = master_data("product", "/products", "the catalogue: list products, set one", "sku")
warehouse = master_data(
    "warehouse", "/warehouses", "warehouses: list, get or set one, its stock", "warehouse_id"
)
company = master_data(
    "company", "/companies", "B2B companies: list, set one, its members and credit", "company_id"
)
supplier = master_data("supplier", "/suppliers", "suppliers purchase orders go to", "supplier_id")


product.add_command(get_command("get", "/products/{sku}", "one product; 404 for an unknown SKU"))
warehouse.add_command(
    get_command("get", "/warehouses/{warehouse_id}", "one warehouse: address, location, active")
)
warehouse.add_command(
    get_command(
        "stock",
        "/warehouses/{warehouse_id}/stock",
        "every SKU's stock in one warehouse",
        pages=True,
    )
)
company.add_command(
    get_command(
        "credit", "/companies/{company_id}/credit", "limit, reserved, used and available credit"
    )
)


company.add_command(
    post_command(
        "pay",
        "/companies/{company_id}/payments",
        "finance: record a payment from the company (restores credit)",
        click.option(
            "--amount", required=True, help="in the company's credit currency, e.g. 1000.00"
        ),
        click.option(
            "--reference",
            required=True,
            help="the bank's reference: the same reference records the payment once",
        ),
    )
)


company.add_command(
    get_command(
        "members",
        "/companies/{company_id}/members",
        "the customers who may buy for the company",
        pages=True,
    )
)


def _membership(name: str, method: str, help: str) -> click.Command:
    """``company NAME COMPANY_ID CUSTOMER_ID``: ``method`` on the membership."""

    @click.command(name, help=help)
    @click.argument("company_id")
    @click.argument("customer_id")
    @pass_settings
    def command(settings: Settings, company_id: str, customer_id: str) -> int:
        return send(settings, f"/companies/{company_id}/members/{customer_id}", method=method)

    return command


company.add_command(
    _membership("add-member", "PUT", "let a customer buy for the company (invoice, quotes)")
)
company.add_command(_membership("remove-member", "DELETE", "end a customer's membership"))


@click.group("price", help="price lists: each SKU's list price per currency")
def price() -> None:
    pass


@price.command("list", help="one currency's price list")
@click.argument("currency")
@paged
@pass_settings
def price_list(settings: Settings, currency: str) -> int:
    return show_get(settings, f"/price-lists/{currency.upper()}/prices")


@price.command("get", help="one SKU's list price in one currency")
@click.argument("currency")
@click.argument("sku")
@pass_settings
def price_get(settings: Settings, currency: str, sku: str) -> int:
    return show_get(settings, f"/price-lists/{currency.upper()}/prices/{sku}")


@price.command("set", help="set one SKU's list price in one currency (admin)")
@click.argument("currency")
@click.argument("sku")
@click.argument("unit_price")
@pass_settings
def price_set(settings: Settings, currency: str, sku: str, unit_price: str) -> int:
    path = f"/price-lists/{currency.upper()}/prices/{sku}"
    return send(settings, path, {"unit_price": unit_price}, method="PUT")


shipping_quote = file_command(
    "shipping-quote", "/shipping/quotes", "shipping options for an order body's lines (JSON file)"
)
