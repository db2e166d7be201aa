"""A chaos scenario's throwaway PostgreSQL database goes, and so does the sandbox payment
ledger its workers made beside it (``<store>_payments_sandbox``): each scenario on
PostgreSQL left that one behind."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from devtools.chaos.databases import PostgresDatabase
from sandboxes.payments import LEDGER_DATABASE_SUFFIX


def test_dropping_a_scenarios_database_drops_its_payment_ledger_too(
    postgres_server_url: str,
) -> None:
    database = PostgresDatabase(postgres_server_url)
    database.create()
    ledger = f"{database.name}{LEDGER_DATABASE_SUFFIX}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{ledger}"'))  # as the first worker does
        database.drop()
        with admin.connect() as conn:
            left = conn.execute(
                text("SELECT datname FROM pg_database WHERE datname IN (:a, :b)"),
                {"a": database.name, "b": ledger},
            ).all()
    finally:
        admin.dispose()
    assert left == []
