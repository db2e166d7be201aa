"""The sandbox payment provider keeps its ledger in a database of its own, never among the
OMS's tables, and every process of one OMS finds the same one (idempotency holds across
workers)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from oms.models.payments import AuthorizeRequest
from oms.settings import Settings
from sandboxes.payments import SandboxPaymentProvider, create_ledger_database, ledger_url

LEDGER_TABLE = "sandbox_payment_ledger"


@pytest.fixture(autouse=True)
def _no_ledger_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMS_PAYMENTS_SANDBOX_URL", raising=False)


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def drop_database(server_url: str, name: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


def authorize(provider: SandboxPaymentProvider) -> str:
    request = AuthorizeRequest(
        idempotency_key="O-1:authorize",
        order_id="O-1",
        amount=Decimal("10.00"),
        currency="SEK",
        token="tok_visa",
    )
    return provider.authorize(request).authorization_id


def test_on_postgresql_the_ledger_is_a_database_beside_the_oms_s_reached_alike() -> None:
    store = "postgresql+psycopg://oms:s3cret@db.internal:5432/oms?sslmode=require"
    url = make_url(ledger_url(Settings(_env_file=None, database_url=f"{store}&options=-csx")))
    assert url.database == "oms_payments_sandbox"
    assert (url.username, url.password, url.host, url.port) == (
        "oms",
        "s3cret",
        "db.internal",
        5432,
    )
    # Reached as the store is (TLS), but not in the store's schema (its search_path).
    assert dict(url.query) == {"sslmode": "require"}
    named = Settings(_env_file=None, database_url=store, payments_sandbox_url="sqlite:///l.db")
    assert ledger_url(named) == "sqlite:///l.db"


def test_on_sqlite_the_ledger_is_a_file_beside_the_store(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'oms.db'}")
    assert ledger_url(settings) == f"sqlite:///{tmp_path / 'oms.payments-sandbox.db'}"
    SandboxPaymentProvider.from_settings(settings)
    assert LEDGER_TABLE not in table_names(settings.database_url)


def test_on_postgresql_the_ledger_never_lands_among_the_oms_s_tables(
    migrated_postgres_url: str, postgres_server_url: str
) -> None:
    """The attack: with no OMS_PAYMENTS_SANDBOX_URL the sandbox created its table in the
    production store, beside the migrated tables Alembic knows."""
    settings = Settings(_env_file=None, database_url=migrated_postgres_url)
    name = str(make_url(ledger_url(settings)).database)
    assert name == f"{make_url(postgres_server_url).database}_payments_sandbox"
    try:
        # Two workers starting at once: one creates the database, the other finds it.
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda _: create_ledger_database(settings), range(2)))
        first = SandboxPaymentProvider.from_settings(settings)
        second = SandboxPaymentProvider.from_settings(settings)  # another worker process
        assert authorize(first) == authorize(second)  # one ledger: the replay's answer
        assert LEDGER_TABLE not in table_names(migrated_postgres_url)
        assert LEDGER_TABLE in table_names(ledger_url(settings))
        first.close()
        second.close()
    finally:
        drop_database(postgres_server_url, name)
