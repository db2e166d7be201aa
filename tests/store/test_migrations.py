"""Migrations build exactly the schema ``oms.store.tables`` declares, and undo it."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from oms.store.db import make_engine
from oms.store.migrate import current_revision, downgrade, upgrade
from oms.store.tables import Base

from inventory_fixtures import T0, order_view

TABLES = set(Base.metadata.tables)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest) -> str:
    """A store URL with no tables yet (a fresh file, or a fresh PostgreSQL schema)."""
    return str(request.getfixturevalue(f"{request.param}_url"))


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def schema_drift(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_and_matches_the_models(empty_url: str) -> None:
    assert current_revision(empty_url) is None
    upgrade(empty_url)
    assert current_revision(empty_url) == "0017_late_scans"
    assert tables(empty_url) == TABLES | {"alembic_version"}
    assert schema_drift(empty_url) == []
    # The sandbox payment provider keeps its ledger in a store of its own.
    assert not {"payment_transactions", "sandbox_payment_ledger"} & tables(empty_url)


def test_downgrade_to_base_and_upgrade_again(empty_url: str) -> None:
    upgrade(empty_url)
    downgrade(empty_url, "base")
    assert current_revision(empty_url) is None
    assert tables(empty_url) & TABLES == set()
    upgrade(empty_url)
    assert tables(empty_url) == TABLES | {"alembic_version"}


def test_upgrade_twice_is_a_no_op(empty_url: str) -> None:
    upgrade(empty_url)
    upgrade(empty_url)
    assert current_revision(empty_url) == "0017_late_scans"


def test_0011_fills_the_search_columns_and_skus_of_existing_orders(empty_url: str) -> None:
    upgrade(empty_url, "0008")
    view = order_view("O-OLD").model_dump(mode="json")
    view["lines"].append({"sku": "SOCKS", "quantity": 1, "unit_price": "49.00"})
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO orders (order_id, status, channel, customer_id, currency, total,"
                    " placed_at, updated_at, version, view) VALUES ('O-OLD', 'confirmed', 'web',"
                    " 'C-1', 'SEK', 498, :at, :at, 1, :view)"
                ),
                {"at": T0, "view": json.dumps(view)},
            )
        upgrade(empty_url)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT customer_email, customer_name FROM orders")).one()
            skus = conn.execute(text("SELECT sku FROM order_skus ORDER BY sku")).scalars().all()
    finally:
        engine.dispose()
    assert tuple(row) == ("astrid@example.com", "astrid")
    assert skus == ["SOCKS", "TSHIRT"]


def test_0012_gives_each_existing_product_its_own_price_as_a_list_price(empty_url: str) -> None:
    upgrade(empty_url, "0010")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO products (sku, name, unit_price, currency, weight_grams, active,"
                    " returnable) VALUES ('OLD-1', 'Old', 249.00, 'SEK', 100, true, true),"
                    " ('OLD-2', 'Older', 19.95, 'EUR', 100, true, true)"
                )
            )
        upgrade(empty_url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT currency, sku, unit_price FROM prices ORDER BY sku")
            ).all()
            classes = conn.execute(text("SELECT DISTINCT tax_class FROM products")).scalars().all()
    finally:
        engine.dispose()
    assert [(c, s, f"{p:.2f}") for c, s, p in rows] == [
        ("SEK", "OLD-1", "249.00"),
        ("EUR", "OLD-2", "19.95"),
    ]
    assert classes == ["standard"]


def test_0014_leaves_existing_backorders_free_to_be_filled_anywhere(empty_url: str) -> None:
    upgrade(empty_url, "0013_money16")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO backorders (order_id, allocation_key, sku, quantity,"
                    " quantity_open, cancelled, placed_at, created_at) VALUES ('O-OLD',"
                    " 'O-OLD:allocate', 'TSHIRT', 2, 2, false, :at, :at)"
                ),
                {"at": T0},
            )
        upgrade(empty_url)
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT exclude_warehouses, only_warehouses FROM backorders")
            ).one()
    finally:
        engine.dispose()
    assert tuple(row) == (None, None)


def test_0015_tells_the_orders_the_oms_placed_from_the_customers_own(empty_url: str) -> None:
    # A return's exchange order and a subscription's renewal were placed by the OMS; an
    # order that only shares one of their marks (the channel, or the id) is the customer's.
    upgrade(empty_url, "0014_backorder_warehouses")
    rows = [
        ("RMA-R1-X", "exchange"),
        ("SUB-S1-2", "subscription"),
        ("W-1", "web"),
        ("W-2", "subscription"),
        ("RMA-R2-X", "web"),
    ]
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            for order_id, channel in rows:
                conn.execute(
                    text(
                        "INSERT INTO orders (order_id, status, channel, customer_id, currency,"
                        " total, placed_at, updated_at, version, view) VALUES (:id, 'confirmed',"
                        " :channel, 'C-1', 'SEK', 0, :at, :at, 1, '{}')"
                    ),
                    {"id": order_id, "channel": channel, "at": T0},
                )
        upgrade(empty_url)
        with engine.connect() as conn:
            origins = dict(conn.execute(text("SELECT order_id, origin FROM orders")).all())
    finally:
        engine.dispose()
    assert origins == {
        "RMA-R1-X": "replacement",
        "SUB-S1-2": "renewal",
        "W-1": "customer",
        "W-2": "customer",
        "RMA-R2-X": "customer",
    }


def test_0016_owes_a_reships_existing_backorders_free_and_the_rest_paid(empty_url: str) -> None:
    # A reship allocates under <order>:claim:<n>; an order id holds no ":".
    upgrade(empty_url, "0015_order_origin")
    keys = ["O-OLD:allocate", "O-OLD:claim:1", "O-OLD:reroute:1", "O-OLD:short:1", "CLAIM:edit:1"]
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            for key in keys:
                conn.execute(
                    text(
                        "INSERT INTO backorders (order_id, allocation_key, sku, quantity,"
                        " quantity_open, cancelled, placed_at, created_at) VALUES ('O-OLD',"
                        " :key, 'TSHIRT', 2, 2, false, :at, :at)"
                    ),
                    {"key": key, "at": T0},
                )
        upgrade(empty_url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT allocation_key, free FROM backorders")).all()
    finally:
        engine.dispose()
    assert sorted(key for key, free in rows if free) == ["O-OLD:claim:1"]
