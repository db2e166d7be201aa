"""Schema migrations, run in code: ``upgrade(url)`` brings any store to the latest schema.

Alembic's scripts live in ``oms/store/migrations`` (shipped with the package),
so no ``alembic.ini`` is needed. ``oms db`` (``--no-seed`` in production, the
``oms-migrate`` job) and the development launcher call ``upgrade``; the API and the
workers do not, so a store that was not migrated is theirs to notice (``behind``:
the API's ``/health/ready`` answers 503 until it is, ``oms token`` and a worker's start
say so in one line: ``store_problem``). On PostgreSQL an advisory lock
makes concurrent callers take turns. URLs may carry
``?options=-csearch_path=<schema>``: the migration runs on that connection, so
tables and ``alembic_version`` land in that schema.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

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


def store_revision(connection: Connection) -> str | None:
    """The revision of the store ``connection`` is on, or ``None`` if it was never migrated."""
    return MigrationContext.configure(connection).get_current_revision()


@functools.cache
def _revisions() -> tuple[str, frozenset[str]]:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None, "the package ships its migrations"
    return head, frozenset(r.revision for r in script.walk_revisions())


def head_revision() -> str:
    """The latest revision of this code's migrations: what its store must be at."""
    return _revisions()[0]


def behind(revision: str | None) -> bool:
    """Whether a store at ``revision`` lacks tables or columns this code uses: never
    migrated (``None``), or at one of this code's revisions before the head. A revision this
    code does not know is a later release's (migrations only add), so not behind: a
    release's pods keep serving while the next one's migration runs."""
    head, known = _revisions()
    return revision is None or (revision != head and revision in known)


def not_migrated(revision: str | None) -> str:
    """One line for a store at ``revision`` that is ``behind``: what it is at, what this
    code needs, and what to run."""
    at = f"at {revision}" if revision else "no tables"
    return (
        f"store not migrated ({at}; this release needs {head_revision()}):"
        " run oms db (--no-seed for a store without the demo catalogue)"
    )


def store_problem(engine: Engine) -> str | None:
    """Why the store behind ``engine`` cannot serve this code, in one line (it cannot be
    reached, or it is ``behind``), or ``None`` when it can. The line names the driver's
    error and its first line only: never the URL, which may hold a password."""
    try:
        with engine.connect() as connection:
            revision = store_revision(connection)
    except DBAPIError as err:
        reason = str(err.orig).strip().splitlines()
        return f"cannot reach the store (OMS_DATABASE_URL): {type(err.orig).__name__}" + (
            f": {reason[0]}" if reason else ""
        )
    return not_migrated(revision) if behind(revision) else None
