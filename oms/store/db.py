"""Engine and session factory for SQLite (embedded default) and PostgreSQL.

SQLite: WAL, a busy timeout, and ``BEGIN IMMEDIATE`` for every transaction that may
write, so writers queue on the database lock instead of failing on upgrade, which is
what keeps reservations from overselling there; a read (``Database.read``) begins
deferred and takes no lock, so it never waits behind a writer (WAL gives it a snapshot).
PostgreSQL: row locks (``SELECT ... FOR UPDATE``) do the same job in ``oms.store.inventory``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, Executable, Select, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

RowT = TypeVar("RowT")
QueryT = TypeVar("QueryT", bound=Select[Any])

# Execution option of the connections ``Database.read`` hands out.
READ_ONLY = "oms_read_only"


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC with its zone: SQLite hands back what it stored without one (every
    moment the store keeps is UTC), and UTC values compare and sort alike on both stores."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def locked(query: QueryT) -> QueryT:
    """``query`` reading its rows ``FOR UPDATE`` and afresh: without ``populate_existing``
    a row the session already holds would keep the values it read before the lock, and a
    decision taken on them could undo a concurrent transaction's write."""
    return query.with_for_update().execution_options(populate_existing=True)


def get_or_insert(
    session: Session, model: type[RowT], key: Any, new: Callable[[], RowT], **options: Any
) -> tuple[RowT, bool]:
    """The row of ``model`` under ``key`` (read with ``session.get``'s ``options``), or
    ``new()`` inserted when there is none; and whether it was inserted.

    The insert runs in a savepoint: when a concurrent transaction inserted the key first,
    this one stays usable and gets that row, read again. Raises ``IntegrityError`` when
    the insert failed and no row holds the key (another constraint refused it).
    """
    row = session.get(model, key, **options)
    if row is not None:
        return row, False
    row = new()
    try:
        with session.begin_nested():
            session.add(row)
        return row, True
    except IntegrityError:
        row = session.get(model, key, **{**options, "populate_existing": True})
        if row is None:
            raise
        return row, False


def dialect_insert(session: Session) -> Any:
    """The ``insert`` of the session's dialect (PostgreSQL or SQLite), which has
    ``on_conflict_do_nothing`` and ``on_conflict_do_update``."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


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
            # A write must hold the lock from its first read (no lost update, no failed
            # upgrade); a read needs only WAL's snapshot.
            read = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

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
        self._reads = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        event.listen(self._reads, "before_flush", _refuse_flush)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads only, in one transaction that is rolled back at the end.

        On SQLite it begins deferred: it takes no lock and reads a snapshot, so it never
        queues behind the writers (``session`` takes the write lock at BEGIN). Raises
        ``ReadOnlySession`` when it is asked to flush a change.
        """
        with self._reads() as session:  # begins on first use; closing rolls back
            yield session

    def execute_alone(self, statement: Executable) -> None:
        """Run ``statement`` as a transaction of its own, in one round trip on PostgreSQL
        (autocommit: no BEGIN, no COMMIT to wait for); raises ``DBAPIError`` on failure."""
        if self.is_sqlite:
            # SQLite's BEGIN IMMEDIATE comes from the "begin" event: keep the transaction.
            with self.session() as session:
                session.execute(statement)
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(statement)

    def dispose(self) -> None:
        self.engine.dispose()


class ReadOnlySession(RuntimeError):
    """A change was flushed in a ``Database.read`` session (a bug: use ``session``)."""


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlySession("this session only reads: write in Database.session()")


T = TypeVar("T")
A = TypeVar("A")


class Bound:
    """Base of the store's port implementations: each call is one transaction of ``db``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _tx(self, work: Callable[[Session], T]) -> T:
        with self.db.session() as session:
            return work(session)


def in_transaction(function: Callable[[Session, A], T]) -> Callable[[Bound, A], T]:
    """A ``Bound`` method that runs ``function(session, argument)`` in a transaction of its
    own, for the store functions an activity calls as they are; it raises what
    ``function`` raises, and its docstring is ``function``'s."""

    def method(self: Bound, argument: A) -> T:
        return self._tx(lambda session: function(session, argument))

    method.__doc__ = function.__doc__
    return method
