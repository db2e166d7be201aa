"""Engine and session factory for SQLite (embedded default) and PostgreSQL.

SQLite: WAL, a busy timeout, and ``BEGIN IMMEDIATE`` for every transaction so
writers queue on the database lock instead of failing on upgrade, which is
what keeps reservations from overselling there. PostgreSQL: row locks
(``SELECT ... FOR UPDATE``) do the same job in ``oms.store.inventory``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; for SQLite, create the file's folder and set pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """One engine and its session factory; built once per process by the composition root."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def execute_with_effect(self, statement: Executable, effect: Callable[[], None] | None) -> int:
        """Run ``statement`` in a transaction of its own and, when it matched exactly one
        row, call ``effect`` and commit right behind it. Returns the number of rows matched
        (anything but 1 is rolled back and ``effect`` is not called).

        For an effect outside the database that must happen if and only if the commit
        does (the email outbox's final "." of SMTP DATA). A process killed before the
        effect leaves neither done, and after the COMMIT has been written, both (the
        server commits what it has received). The gap between the two is what is left: on
        PostgreSQL the COMMIT is written straight after the effect, before Python could
        hand the GIL to another thread, so the gap is microseconds provided ``effect`` does
        not release the GIL itself. (Writing the COMMIT first and the effect after its
        reply lost one email in 2500 to a worker SIGKILLed every 10 s: the thread waited
        milliseconds for the GIL in between.) On SQLite the commit is local and follows
        the effect through the driver.

        Raises ``sqlalchemy.exc.DBAPIError`` when the statement or the commit fails (after
        the effect the commit's outcome is then unknown: the caller must settle it) and
        re-raises what ``effect`` raised (nothing is committed then).
        """
        with self.engine.connect() as conn:
            matched = conn.execute(statement).rowcount
            if matched != 1:
                conn.rollback()
                return matched
            if effect is not None:
                try:
                    effect()
                except BaseException:
                    conn.rollback()
                    raise
                if conn.dialect.driver == "psycopg":
                    _commit_at_once(conn)
                    return matched
            conn.commit()
            return matched

    def dispose(self) -> None:
        self.engine.dispose()


def _commit_at_once(conn: Connection) -> None:
    """COMMIT on ``conn``'s psycopg connection through libpq directly, with no Python in
    between that could give the GIL away; raises ``sqlalchemy.exc.OperationalError`` when
    it fails."""
    # Imported here: only PostgreSQL stores come this way, and psycopg costs every
    # process ~60 ms at start-up.
    import psycopg
    from psycopg import generators, waiting
    from psycopg.pq import ExecStatus

    dbapi = cast("psycopg.Connection[Any]", conn.connection.dbapi_connection)
    pgconn = dbapi.pgconn
    try:
        pgconn.send_query(b"COMMIT")
        waiting.wait(generators.send(pgconn), pgconn.socket)
        results = waiting.wait(generators.fetch_many(pgconn), pgconn.socket)
        failed = [r for r in results if r.status != ExecStatus.COMMAND_OK]
        if failed:
            raise psycopg.errors.error_from_result(failed[0], encoding=dbapi.info.encoding)
    except psycopg.Error as exc:
        conn.invalidate()
        raise OperationalError("COMMIT", None, exc) from exc
    # Only SQLAlchemy's bookkeeping: the server has committed and psycopg sees no
    # transaction open, so it sends nothing.
    conn.commit()


T = TypeVar("T")


class Bound:
    """Base of the store's port implementations: each call is one transaction of ``db``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _tx(self, work: Callable[[Session], T]) -> T:
        with self.db.session() as session:
            return work(session)
