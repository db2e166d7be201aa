"""Database.execute_then_commit: an outside effect tied to a commit, on SQLite and PostgreSQL."""

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


def test_one_matched_row_is_committed_and_then_runs_once(db: Database) -> None:
    _row(db)
    calls: list[str] = []

    matched = db.execute_then_commit(_mark(), lambda: calls.append("then"))

    assert matched == 1 and calls == ["then"]
    assert _status(db) == "sending"


def test_no_matched_row_rolls_back_and_then_does_not_run(db: Database) -> None:
    _row(db, status="sent")
    calls: list[str] = []

    matched = db.execute_then_commit(_mark(), lambda: calls.append("then"))

    assert matched == 0 and calls == []
    assert _status(db) == "sent"


def test_what_then_raises_comes_out_after_the_commit(db: Database) -> None:
    _row(db)

    def dot_failed() -> None:
        raise ConnectionResetError("SMTP connection lost")

    with pytest.raises(ConnectionResetError):
        db.execute_then_commit(_mark(), dot_failed)
    assert _status(db) == "sending"
    # The connection went back to the pool in a usable state.
    _row(db, key="K-2")
    assert db.execute_then_commit(_mark("K-2"), None) == 1


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    upgrade(postgres_url)
    db = Database(postgres_url)
    yield db
    db.dispose()


def test_on_postgresql_then_runs_after_the_commit_is_sent_and_before_its_reply(
    pg: Database,
) -> None:
    _row(pg)
    checked_out: list[Any] = []
    event.listen(pg.engine, "checkout", lambda dbapi, _rec, _proxy: checked_out.append(dbapi))
    seen: list[TransactionStatus] = []

    pg.execute_then_commit(_mark(), lambda: seen.append(checked_out[-1].pgconn.transaction_status))

    # ACTIVE: a command (the COMMIT) is on its way and its reply not yet read.
    assert seen == [TransactionStatus.ACTIVE]
    assert _status(pg) == "sending"


def test_on_postgresql_a_failing_commit_is_a_database_error_raised_after_then(
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
        pg.execute_then_commit(
            text("UPDATE deferred_pair SET v = 1 WHERE id = 2"), lambda: calls.append("then")
        )

    assert calls == ["then"]
    with pg.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT v FROM deferred_pair WHERE id = 2").scalar() == 2
    # The broken connection was not handed out again.
    _row(pg)
    assert pg.execute_then_commit(_mark(), None) == 1
