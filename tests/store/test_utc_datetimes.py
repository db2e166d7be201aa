"""Every moment read back from the store is UTC with its zone (``tables.UtcDateTime``).

SQLite hands back what it stored without a zone and PostgreSQL's ``timestamptz`` answers
in the session's time zone; readers compare what they read with ``datetime.now(UTC)``
(an idempotency key's age, a webhook's next attempt) and put it in API answers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from oms.store import refusals
from oms.store.db import Database
from oms.store.tables import CallerRefusalRow

MOMENT = datetime(2026, 12, 7, 23, 30, 15, 123456, tzinfo=UTC)


def _store_one(db: Database) -> None:
    with db.session() as session:
        session.add(
            CallerRefusalRow(
                caller="sim-warehouse",
                status=401,
                method="POST",
                path="/shipments/S-1/pick",
                detail="token revoked",
                first_at=MOMENT,
                last_at=MOMENT + timedelta(seconds=1),
            )
        )


def test_a_stored_moment_reads_back_as_the_same_utc_moment(database_url: str) -> None:
    db = Database(database_url)
    try:
        _store_one(db)
        with db.read() as session:
            row = session.get(CallerRefusalRow, "sim-warehouse")
            assert row is not None
            # Aware and in UTC, so it compares with now(UTC) and renders with "+00:00".
            assert row.first_at == MOMENT and row.first_at.utcoffset() == timedelta(0)
            latest = session.scalar(select(func.max(CallerRefusalRow.last_at)))
            assert latest == MOMENT + timedelta(seconds=1)
            assert latest is not None and latest.tzinfo is not None
            listed = refusals.recent(session, MOMENT - timedelta(days=1))
        assert [r.first_at.isoformat() for r in listed] == ["2026-12-07T23:30:15.123456+00:00"]
    finally:
        db.dispose()


def test_postgres_in_another_time_zone_still_answers_in_utc(migrated_postgres_url: str) -> None:
    url = make_url(migrated_postgres_url)
    options = f"{url.query['options']} -ctimezone=Asia/Tokyo"
    db = Database(url.update_query_dict({"options": options}).render_as_string(False))
    try:
        _store_one(db)
        with db.read() as session:
            # The session really is in Tokyo: the server renders the moment at +09:00.
            shown = session.scalar(select(func.to_char(CallerRefusalRow.first_at, "HH24")))
            row = session.get(CallerRefusalRow, "sim-warehouse")
        assert shown == "08"
        assert row is not None and row.first_at == MOMENT
        assert row.first_at.utcoffset() == timedelta(0)
    finally:
        db.dispose()
