"""The subscriptions report's day rows: active, started, cancelled, churn and renewals."""

from __future__ import annotations

from datetime import UTC, date, datetime

from oms.domain.subscription_report import SubscriptionFacts, daily


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def test_each_day_counts_what_happened_that_day() -> None:
    facts = [
        SubscriptionFacts(created_at=at(1), cancelled_at=None, renewals=(at(1), at(8))),
        SubscriptionFacts(created_at=at(1, 9), cancelled_at=at(3), renewals=(at(1, 9),)),
        SubscriptionFacts(created_at=at(2), cancelled_at=None, renewals=(at(2),)),
    ]
    rows = {r.day: r for r in daily(facts, date(2026, 3, 1), date(2026, 3, 3))}
    first, second, third = rows[date(2026, 3, 1)], rows[date(2026, 3, 2)], rows[date(2026, 3, 3)]
    assert (first.active, first.started, first.cancelled, first.renewals) == (2, 2, 0, 2)
    assert first.churn_pct == 0.0  # none of the 2 started that day ended
    assert (second.active, second.started, second.renewals) == (3, 1, 1)
    assert (third.active, third.cancelled, third.renewals) == (2, 1, 0)
    assert third.churn_pct == round(100 / 3, 2)  # 1 of the 3 active at the day's start


def test_churn_counts_the_subscriptions_started_that_day_with_those_active_at_its_start() -> None:
    # Nobody was active when the day began; 2 started and 1 of them was cancelled.
    facts = [
        SubscriptionFacts(created_at=at(1, 9), cancelled_at=at(1, 17), renewals=()),
        SubscriptionFacts(created_at=at(1, 10), cancelled_at=None, renewals=()),
    ]
    [day] = daily(facts, date(2026, 3, 1), date(2026, 3, 1))
    assert (day.active, day.started, day.cancelled, day.churn_pct) == (1, 2, 1, 50.0)
    # The next day: 1 active at its start, 1 more started, 1 of the 2 cancelled.
    facts[1] = SubscriptionFacts(created_at=at(1, 10), cancelled_at=at(2, 8), renewals=())
    facts.append(SubscriptionFacts(created_at=at(2, 9), cancelled_at=None, renewals=()))
    second = daily(facts, date(2026, 3, 2), date(2026, 3, 2))[0]
    assert (second.active, second.started, second.cancelled, second.churn_pct) == (1, 1, 1, 50.0)


def test_a_day_without_subscriptions_is_a_row_of_zeros() -> None:
    [row] = daily([], date(2026, 3, 1), date(2026, 3, 1))
    assert (row.active, row.started, row.cancelled, row.renewals, row.churn_pct) == (
        0,
        0,
        0,
        0,
        0.0,
    )
