"""Schema migrations, run in code: ``upgrade(url)`` brings any store to the latest schema.

Alembic's scripts live in ``oms/store/migrations`` (shipped with the package),
so no ``alembic.ini`` is needed. Every composition root calls ``upgrade``
before it serves; on PostgreSQL an advisory lock makes concurrent callers
(worker and API starting together) take turns. URLs may carry
``?options=-csearch_path=<schema>``: the migration runs on that connection, so
tables and ``alembic_version`` land in that schema.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from oms.store.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant works; it only has to be the same for every OMS process.
_PG_MIGRATION_LOCK = 73_004_001


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic config for this package's migrations, bound to ``connection`` or ``url``."""
    config = Config()
    # ConfigParser treats "%" as interpolation; a path could contain one.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    if url is not None:
        config.attributes["url"] = url
    return config


def _run(url: str, action: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            config = alembic_config(conn)
            if action == "upgrade":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the store at ``url`` up to ``revision`` (default: the latest)."""
    _run(url, "upgrade", revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Migrate the store at ``url`` down to ``revision`` (``"base"``: drop every table)."""
    _run(url, "downgrade", revision)


def current_revision(url: str) -> str | None:
    """The revision the store at ``url`` is at, or ``None`` if it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
