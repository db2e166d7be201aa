"""Demo catalogue, warehouses and stock, so a fresh install has something to sell.

The stock is spread so the demo shows every allocation rule: most SKUs fit
one warehouse, jeans only live in Gothenburg and caps only in Stockholm (a
mixed order splits), and the wool jacket has two units in the whole network
(the third order backorders). Every product has a list price in SEK, EUR, NOK, DKK, GBP
and USD. Three B2B companies show the credit rules: a
large limit, a smaller one that holds orders beyond it for finance, and a
small shop whose orders beyond its limit are refused; each has a demo buyer (a
member, who may use its prices and credit). Three suppliers and a
few reorder policies show replenishment: the Stockholm wool jacket is reordered
as soon as its last unit is reserved.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from oms.store import credit
from oms.store.tables import (
    Base,
    CompanyRow,
    PriceRow,
    ProductRow,
    ProductSupplierRow,
    ReorderPolicyRow,
    StockRow,
    SupplierRow,
    WarehouseRow,
)

# sku, name, unit price (SEK), weight in grams
PRODUCTS: list[tuple[str, str, str, int]] = [
    ("TSHIRT-BLK-M", "Organic cotton T-shirt, black, M", "249.00", 180),
    ("TSHIRT-BLK-L", "Organic cotton T-shirt, black, L", "249.00", 200),
    ("TSHIRT-WHT-M", "Organic cotton T-shirt, white, M", "249.00", 180),
    ("HOODIE-GRY-L", "Heavyweight hoodie, grey melange, L", "699.00", 650),
    ("JEANS-IND-32", "Straight jeans, indigo, W32 L32", "899.00", 750),
    ("SNEAKER-WHT-42", "Leather sneaker, white, EU 42", "1199.00", 1100),
    ("CAP-NVY", "Six-panel cap, navy", "199.00", 120),
    ("SOCKS-3PK", "Merino socks, 3-pack", "149.00", 150),
    ("JACKET-WOOL-M", "Wool overshirt jacket, M", "2499.00", 1400),
]

# sku -> (HS code, country of origin): what a parcel leaving the EU declares.
CUSTOMS: dict[str, tuple[str, str]] = {
    "TSHIRT-BLK-M": ("610910", "PT"),
    "TSHIRT-BLK-L": ("610910", "PT"),
    "TSHIRT-WHT-M": ("610910", "PT"),
    "HOODIE-GRY-L": ("611020", "PT"),
    "JEANS-IND-32": ("620342", "TR"),
    "SNEAKER-WHT-42": ("640399", "PT"),
    "CAP-NVY": ("650500", "LT"),
    "SOCKS-3PK": ("611594", "IT"),
    "JACKET-WOOL-M": ("620331", "LT"),
}
# sku -> list price in EUR, NOK, DKK, GBP, USD (SEK is the product's own price above):
# set by hand as a merchant would (round price points), not converted.
FOREIGN_PRICES: dict[str, tuple[str, str, str, str, str]] = {
    "TSHIRT-BLK-M": ("24.95", "299.00", "179.00", "19.95", "24.95"),
    "TSHIRT-BLK-L": ("24.95", "299.00", "179.00", "19.95", "24.95"),
    "TSHIRT-WHT-M": ("24.95", "299.00", "179.00", "19.95", "24.95"),
    "HOODIE-GRY-L": ("64.95", "799.00", "499.00", "54.95", "69.95"),
    "JEANS-IND-32": ("84.95", "999.00", "649.00", "74.95", "89.95"),
    "SNEAKER-WHT-42": ("109.95", "1349.00", "849.00", "94.95", "119.95"),
    "CAP-NVY": ("19.95", "229.00", "149.00", "16.95", "19.95"),
    "SOCKS-3PK": ("14.95", "179.00", "109.00", "12.95", "14.95"),
    "JACKET-WOOL-M": ("229.95", "2799.00", "1799.00", "199.95", "249.95"),
}
FOREIGN_CURRENCIES = ("EUR", "NOK", "DKK", "GBP", "USD")

# id, name, street, postcode, city, country, lat, lon
WAREHOUSES: list[tuple[str, str, str, str, str, str, float, float]] = [
    (
        "WH-STO",
        "OMS Stockholm DC",
        "Partihandlarvägen 48",
        "120 44",
        "Årsta",
        "SE",
        59.2963,
        18.0403,
    ),
    (
        "WH-GOT",
        "OMS Gothenburg DC",
        "Importgatan 17",
        "422 46",
        "Hisings Backa",
        "SE",
        57.7468,
        11.9873,
    ),
    (
        "WH-MMO",
        "OMS Malmö DC",
        "Agnesfridsvägen 113",
        "212 37",
        "Malmö",
        "SE",
        55.5780,
        13.0510,
    ),
]

# (warehouse, sku) -> units on hand when first seeded
STOCK: dict[tuple[str, str], int] = {
    ("WH-STO", "TSHIRT-BLK-M"): 40,
    ("WH-STO", "TSHIRT-BLK-L"): 25,
    ("WH-STO", "TSHIRT-WHT-M"): 30,
    ("WH-STO", "HOODIE-GRY-L"): 12,
    ("WH-STO", "SNEAKER-WHT-42"): 3,
    ("WH-STO", "CAP-NVY"): 20,
    ("WH-STO", "SOCKS-3PK"): 60,
    ("WH-STO", "JACKET-WOOL-M"): 1,
    ("WH-GOT", "TSHIRT-BLK-M"): 30,
    ("WH-GOT", "TSHIRT-BLK-L"): 30,
    ("WH-GOT", "TSHIRT-WHT-M"): 10,
    ("WH-GOT", "HOODIE-GRY-L"): 8,
    ("WH-GOT", "JEANS-IND-32"): 15,
    ("WH-GOT", "SOCKS-3PK"): 40,
    ("WH-MMO", "TSHIRT-BLK-M"): 15,
    ("WH-MMO", "TSHIRT-WHT-M"): 15,
    ("WH-MMO", "SNEAKER-WHT-42"): 6,
    ("WH-MMO", "SOCKS-3PK"): 30,
    ("WH-MMO", "JACKET-WOOL-M"): 1,
}

# id, name, price tier, credit limit (SEK), beyond the limit: hold for finance or refuse
COMPANIES: list[tuple[str, str, str, str, str]] = [
    ("ACME-AB", "Acme Bygg AB", "silver", "500000.00", "hold"),
    ("NORDIC-RETAIL", "Nordic Retail Group", "gold", "200000.00", "hold"),
    ("SMALL-SHOP", "Small Shop", "standard", "20000.00", "refuse"),
]

# Demo buyers of each company (the README's, the demo's and the tests' customers).
MEMBERS: list[tuple[str, str]] = [
    ("ACME-AB", "C-7"),
    ("ACME-AB", "C-ACME-AB"),
    ("ACME-AB", "C-ACME-1"),
    ("NORDIC-RETAIL", "C-NORDIC-RETAIL"),
    ("SMALL-SHOP", "C-SMALL-SHOP"),
]

# id, name, email, lead time in days
SUPPLIERS: list[tuple[str, str, str, int]] = [
    ("NORDTEX", "Nordtex Apparel AB", "orders@nordtex.example", 5),
    ("WOOLWORKS", "Woolworks Scandinavia", "po@woolworks.example", 10),
    ("STEPFORD", "Stepford Footwear", "sales@stepford.example", 14),
]

# sku -> (supplier, unit cost in SEK)
SUPPLIER_LINKS: dict[str, tuple[str, str]] = {
    "TSHIRT-BLK-M": ("NORDTEX", "62.00"),
    "TSHIRT-BLK-L": ("NORDTEX", "64.00"),
    "TSHIRT-WHT-M": ("NORDTEX", "62.00"),
    "HOODIE-GRY-L": ("NORDTEX", "210.00"),
    "JEANS-IND-32": ("NORDTEX", "280.00"),
    "CAP-NVY": ("NORDTEX", "45.00"),
    "SOCKS-3PK": ("WOOLWORKS", "38.00"),
    "JACKET-WOOL-M": ("WOOLWORKS", "820.00"),
    "SNEAKER-WHT-42": ("STEPFORD", "410.00"),
}

# (warehouse, sku) -> (reorder point, reorder quantity): reorder when available <= point
REORDER_POLICIES: dict[tuple[str, str], tuple[int, int]] = {
    ("WH-STO", "JACKET-WOOL-M"): (0, 10),
    ("WH-STO", "TSHIRT-BLK-M"): (10, 50),
    ("WH-GOT", "JEANS-IND-32"): (2, 20),
}


def seed_demo(session: Session) -> int:
    """Add the missing demo products, warehouses, stock and companies; returns rows added.

    Never changes a row that exists, so a second run adds nothing and stock
    that orders have since moved stays as it is.
    """
    products = [
        ProductRow(
            sku=sku,
            name=name,
            unit_price=Decimal(price),
            currency="SEK",
            weight_grams=grams,
            active=True,
            hs_code=CUSTOMS[sku][0],
            origin_country=CUSTOMS[sku][1],
        )
        for sku, name, price, grams in PRODUCTS
    ]
    warehouses = [
        WarehouseRow(
            warehouse_id=warehouse_id,
            name=name,
            line1=line1,
            postal_code=postal_code,
            city=city,
            country=country,
            lat=lat,
            lon=lon,
            active=True,
        )
        for warehouse_id, name, line1, postal_code, city, country, lat, lon in WAREHOUSES
    ]
    stock = [
        StockRow(warehouse_id=warehouse_id, sku=sku, on_hand=on_hand, reserved=0)
        for (warehouse_id, sku), on_hand in STOCK.items()
    ]
    added = _add_missing(session, products) + _add_missing(session, warehouses)
    session.flush()
    added += _add_missing(session, stock)
    session.flush()
    return added + seed_prices(session) + seed_companies(session) + seed_replenishment(session)


def seed_prices(session: Session) -> int:
    """Add the missing list prices of the demo products: each product's own price in its
    currency, and the demo prices in EUR, NOK, DKK, GBP and USD. Never changes one."""
    skus = [sku for sku, _name, _price, _grams in PRODUCTS]
    products = session.scalars(select(ProductRow).where(ProductRow.sku.in_(skus)))
    rows = []
    for product in products:
        sku = product.sku
        wanted = {product.currency: Decimal(product.unit_price)}
        wanted.update(zip(FOREIGN_CURRENCIES, map(Decimal, FOREIGN_PRICES[sku]), strict=True))
        rows += [
            PriceRow(currency=currency, sku=sku, unit_price=price, updated_by="seed")
            for currency, price in wanted.items()
        ]
    added = _add_missing(session, rows)
    session.flush()
    return added


def seed_companies(session: Session) -> int:
    """Add the demo B2B companies and their members that are missing; returns rows added.

    Never changes one.
    """
    companies = [
        CompanyRow(
            company_id=company_id,
            name=name,
            tier=tier,
            credit_limit=Decimal(limit),
            currency="SEK",
            over_limit=over_limit,
        )
        for company_id, name, tier, limit, over_limit in COMPANIES
    ]
    added = _add_missing(session, companies)
    session.flush()
    for company_id, customer_id in MEMBERS:
        if not credit.is_member(session, company_id, customer_id):
            credit.add_member(session, company_id, customer_id, by="seed")
            added += 1
    session.flush()
    return added


def seed_replenishment(session: Session) -> int:
    """Add the missing demo suppliers, SKU links and reorder policies; never changes one."""
    suppliers = [
        SupplierRow(supplier_id=supplier_id, name=name, email=email, lead_time_days=lead_time_days)
        for supplier_id, name, email, lead_time_days in SUPPLIERS
    ]
    added = _add_missing(session, suppliers)
    session.flush()
    links = [
        ProductSupplierRow(sku=sku, supplier_id=supplier_id, unit_cost=Decimal(cost))
        for sku, (supplier_id, cost) in SUPPLIER_LINKS.items()
    ]
    policies = [
        ReorderPolicyRow(warehouse_id=warehouse_id, sku=sku, reorder_point=point, reorder_qty=qty)
        for (warehouse_id, sku), (point, qty) in REORDER_POLICIES.items()
    ]
    added += _add_missing(session, links) + _add_missing(session, policies)
    session.flush()
    return added


def _add_missing(session: Session, rows: Sequence[Base]) -> int:
    """Add those of ``rows`` (of one table) whose primary key the table does not hold yet (a
    seed never changes a stored row); returns how many were added.

    One query for the table's keys, then one flush for the new rows: a ``session.get`` per
    row flushed the rows before it one at a time (autoflush), a few hundred round trips
    every time a test stack or ``make run`` seeded the demo."""
    if not rows:
        return 0
    mapper = inspect(type(rows[0]))
    stored = {tuple(key) for key in session.execute(select(*mapper.primary_key))}
    missing = [row for row in rows if tuple(mapper.primary_key_from_instance(row)) not in stored]
    session.add_all(missing)
    return len(missing)
