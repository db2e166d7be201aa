"""Migrations build exactly the schema ``oms.store.tables`` declares, and undo it."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from oms.store.db import make_engine
from oms.store.migrate import current_revision, downgrade, upgrade
from oms.store.tables import Base

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
    assert current_revision(empty_url) == "0009"
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
    assert current_revision(empty_url) == "0009"
