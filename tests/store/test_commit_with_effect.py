"""Database.execute_with_effect: an outside effect tied to a commit, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import event, text, update
from sqlalchemy.exc import DBAPIError

from oms.store.db import Database
from oms.store.migrate import upgrade
from oms.store.tables import NotificationRow


def _row(db: Database, key: str = "K-1", status: str = "pending") -> None:
    with db.session() as session:
        session.add(
            NotificationRow(
                key=key,
                recipient="ann@example.com",
                template="order_confirmed",
                subject="",
                message_id=f"<{key}@oms>",
                status=status,
                attempts=1,
            )
        )


def _status(db: Database, key: str = "K-1") -> str:
    with db.session() as session:
        row = session.get(NotificationRow, key)
        assert row is not None
        return row.status


def _mark(key: str = "K-1") -> Any:
    return (
        update(NotificationRow)
        .where(NotificationRow.key == key, NotificationRow.status == "pending")
        .values(status="sending")
    )


def test_one_matched_row_is_committed_and_the_effect_runs_once(db: Database) -> None:
    _row(db)
    calls: list[str] = []

    matched = db.execute_with_effect(_mark(), lambda: calls.append("effect"))

    assert matched == 1 and calls == ["effect"]
    assert _status(db) == "sending"


def test_no_matched_row_rolls_back_and_the_effect_does_not_run(db: Database) -> None:
    _row(db, status="sent")
    calls: list[str] = []

    matched = db.execute_with_effect(_mark(), lambda: calls.append("effect"))

    assert matched == 0 and calls == []
    assert _status(db) == "sent"


def test_a_failing_effect_commits_nothing_and_its_error_comes_out(db: Database) -> None:
    _row(db)

    def dot_failed() -> None:
        raise ConnectionResetError("SMTP connection lost")

    with pytest.raises(ConnectionResetError):
        db.execute_with_effect(_mark(), dot_failed)
    assert _status(db) == "pending"
    # The connection went back to the pool in a usable state.
    assert db.execute_with_effect(_mark(), None) == 1
    assert _status(db) == "sending"


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    upgrade(postgres_url)
    db = Database(postgres_url)
    yield db
    db.dispose()


def test_on_postgresql_the_effect_runs_in_the_open_transaction_and_the_commit_follows(
    pg: Database,
) -> None:
    _row(pg)
    checked_out: list[Any] = []
    event.listen(pg.engine, "checkout", lambda dbapi, _rec, _proxy: checked_out.append(dbapi))
    seen: list[tuple[TransactionStatus, str]] = []

    def effect() -> None:
        # Nothing is committed yet: another connection still reads "pending".
        seen.append((checked_out[0].pgconn.transaction_status, _status(pg)))

    pg.execute_with_effect(_mark(), effect)

    assert seen == [(TransactionStatus.INTRANS, "pending")]
    assert _status(pg) == "sending"


def test_on_postgresql_a_failing_commit_after_the_effect_is_a_database_error(
    pg: Database,
) -> None:
    with pg.engine.begin() as conn:
        # A deferred unique constraint is checked at COMMIT: the commit itself fails.
        conn.exec_driver_sql(
            "CREATE TABLE deferred_pair (id int PRIMARY KEY, v int, "
            "CONSTRAINT one_v UNIQUE (v) DEFERRABLE INITIALLY DEFERRED)"
        )
        conn.exec_driver_sql("INSERT INTO deferred_pair VALUES (1, 1), (2, 2)")
    calls: list[str] = []

    with pytest.raises(DBAPIError, match="one_v"):
        pg.execute_with_effect(
            text("UPDATE deferred_pair SET v = 1 WHERE id = 2"), lambda: calls.append("effect")
        )

    assert calls == ["effect"]
    with pg.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT v FROM deferred_pair WHERE id = 2").scalar() == 2
    # The broken connection was not handed out again.
    _row(pg)
    assert pg.execute_with_effect(_mark(), None) == 1
