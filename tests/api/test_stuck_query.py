"""The visibility query behind ``/ops/stuck`` writes its times as the lifecycle's queries do
(``oms.domain.lifecycle.visibility_time``), so a filter by age compares like a deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from oms.domain.lifecycle import deadline_query, visibility_time
from starters.api.ops import stuck_query

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_a_visibility_time_is_utc_with_microseconds_and_z() -> None:
    cet = timezone(timedelta(hours=1))
    assert visibility_time(datetime(2026, 11, 30, 13, 0, 5, 7, tzinfo=cet)) == (
        "2026-11-30T12:00:05.000007Z"
    )


def test_stuck_query_narrows_the_deadline_query_by_kind_stage_warehouse_and_age() -> None:
    query = stuck_query(NOW, kind="order", stage="awaiting_pick", warehouse="WH1", min_age_s=600)
    assert query == (
        f"{deadline_query(NOW)} AND OmsKind = 'order' AND OmsStage = 'awaiting_pick' "
        "AND OmsWarehouse = 'WH1' AND OmsWaitingSince < '2026-11-30T11:50:00.000000Z'"
    )


def test_stuck_query_without_filters_is_the_deadline_query() -> None:
    assert stuck_query(NOW) == deadline_query(NOW)
