"""The subscriptions report: per day, how many were active, started, cancelled (churn) and
renewed. Pure: it reads what the read model already holds, one fact per subscription.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from oms.models.reports import SubscriptionReportRow


@dataclass(frozen=True)
class SubscriptionFacts:
    """When a subscription started, when it was cancelled (if it was) and when each of its
    renewal orders was placed."""

    created_at: datetime
    cancelled_at: datetime | None
    renewals: tuple[datetime, ...]


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


def daily(
    facts: Iterable[SubscriptionFacts], start: date, end: date
) -> list[SubscriptionReportRow]:
    """One row a day from ``start`` to ``end``: active at the day's end, started, cancelled,
    renewal orders placed, and churn: cancelled / (active at the day's start + started that
    day), the share of the day's subscriptions that ended. Counting the day's starts keeps a
    growing base honest: 1 of 2 started and cancelled the same day is 50 %, not 0, and every
    subscription cancelled that day is in the denominator, so churn never passes 100 %."""
    facts = list(facts)
    rows = []
    day = start
    while day <= end:
        begin, finish = _end_of(day - timedelta(days=1)), _end_of(day)

        def active_at(moment: datetime) -> int:
            return sum(
                1
                for f in facts
                if f.created_at < moment and (f.cancelled_at is None or f.cancelled_at >= moment)
            )

        started = sum(1 for f in facts if begin <= f.created_at < finish)
        cancelled = sum(
            1 for f in facts if f.cancelled_at is not None and begin <= f.cancelled_at < finish
        )
        renewals = sum(1 for f in facts for at in f.renewals if begin <= at < finish)
        exposed = active_at(begin) + started
        rows.append(
            SubscriptionReportRow(
                day=day,
                active=active_at(finish),
                started=started,
                cancelled=cancelled,
                renewals=renewals,
                churn_pct=round(100.0 * cancelled / exposed, 2) if exposed else 0.0,
            )
        )
        day += timedelta(days=1)
    return rows
