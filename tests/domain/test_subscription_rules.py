"""Renewal dates (ISO 8601 intervals, month ends), pauses passed over, the dunning schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oms.domain.events import transitions
from oms.domain.lifecycle import SUBSCRIPTION
from oms.domain.subscriptions import (
    add_months,
    first_period_from,
    order_id,
    renewal_at,
    retry_at,
)
from oms.models.common import HistoryEntry

T0 = datetime(2026, 1, 31, 8, 0, tzinfo=UTC)


def test_weekly_and_fortnightly_renewals_are_whole_weeks_apart() -> None:
    assert renewal_at(T0, "P1W", 0) == T0
    assert renewal_at(T0, "P1W", 52) == T0 + timedelta(weeks=52)
    assert renewal_at(T0, "P2W", 3) == datetime(2026, 3, 14, 8, 0, tzinfo=UTC)


def test_monthly_renewal_from_the_31st_lands_on_each_month_end_and_comes_back() -> None:
    dates = [renewal_at(T0, "P1M", n).date().isoformat() for n in range(5)]
    assert dates == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]


def test_leap_february_and_quarterly_renewals() -> None:
    assert add_months(datetime(2028, 1, 30, tzinfo=UTC), 1).day == 29
    quarterly = [renewal_at(datetime(2026, 11, 30, tzinfo=UTC), "P3M", n) for n in range(3)]
    assert [d.date().isoformat() for d in quarterly] == ["2026-11-30", "2027-02-28", "2027-05-30"]


def test_renewal_rejects_a_negative_number_and_an_unknown_interval() -> None:
    with pytest.raises(ValueError, match="negative"):
        renewal_at(T0, "P1W", -1)
    with pytest.raises(ValueError, match="unsupported interval"):
        renewal_at(T0, "P1D", 1)  # type: ignore[arg-type]


def test_a_pause_passes_over_the_periods_it_covered() -> None:
    # Paused from the 2nd renewal until 10 weeks later: the next is the first at or after then.
    assert first_period_from(T0, "P1W", 1, T0 + timedelta(weeks=10, hours=1)) == 11
    assert first_period_from(T0, "P1W", 4, T0) == 4
    assert first_period_from(T0, "P1M", 1, datetime(2026, 3, 1, tzinfo=UTC)) == 2


def test_dunning_retries_one_three_and_seven_days_after_the_first_decline() -> None:
    assert [retry_at(T0, n) for n in (1, 2, 3)] == [T0 + timedelta(days=d) for d in (1, 3, 7)]
    assert retry_at(T0, 4) is None
    assert retry_at(T0, 1, [timedelta(seconds=5)]) == T0 + timedelta(seconds=5)
    with pytest.raises(ValueError):
        retry_at(T0, 0)


def test_order_ids_are_one_per_period() -> None:
    assert order_id("S-1", 0) == "SUB-S-1-1"
    assert order_id("S-1", 51) == "SUB-S-1-52"


def test_subscription_events_created_renewed_paused_resumed() -> None:
    def entry(status: str, action: str | None = None) -> HistoryEntry:
        return HistoryEntry(at=T0, status=status, action=action)

    history = [
        entry("active"),
        entry("active", "renewed"),
        entry("active", "reminded"),
        entry("paused"),
        entry("active"),
        entry("cancelled"),
    ]
    found = [t.type for t in transitions("subscription", None, history)]
    assert found == [
        "subscription.created",
        "subscription.renewed",
        "subscription.paused",
        "subscription.resumed",
        "subscription.cancelled",
    ]
    stored = [e.model_dump(mode="json") for e in history[:2]]
    assert [t.index for t in transitions("subscription", stored, history)] == [3, 4, 5]


def test_only_past_due_is_overdue_at_once_and_needs_a_person() -> None:
    assert SUBSCRIPTION.statuses == ["active", "paused", "past_due", "cancelled"]
    past_due = SUBSCRIPTION.step("past_due")
    assert past_due.person and past_due.clock is not None and past_due.clock.seconds == 0
    assert SUBSCRIPTION.step("paused").clock is None
    assert SUBSCRIPTION.find("dunning", "customer") == SUBSCRIPTION.step("active", "dunning")
