"""Pure rules of a subscription: when each renewal falls, and when a declined one is retried.

Renewals are counted from the subscription's anchor (its first renewal): renewal ``n``
(0 for the first) falls ``n`` intervals after it, so a monthly subscription anchored on
31 January renews on 28 (or 29) February and on 31 March again, never drifting to the
28th. A skipped or paused period simply moves on to the next ``n``.

Pure: no I/O, no Temporal imports.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import datetime, timedelta

from oms.models.subscriptions import INTERVALS, Interval

# After the first decline of a renewal's payment, its retries come 1, 3 and 7 days later.
DUNNING_SCHEDULE: tuple[timedelta, ...] = (timedelta(days=1), timedelta(days=3), timedelta(days=7))

_WEEKS: dict[str, int] = {"P1W": 1, "P2W": 2}
_MONTHS: dict[str, int] = {"P1M": 1, "P3M": 3}


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` ``months`` calendar months later, on the month's last day if it is shorter."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def renewal_at(anchor: datetime, interval: Interval, n: int) -> datetime:
    """When renewal ``n`` falls (0: the anchor itself).

    Raises ``ValueError`` for a negative ``n`` or an interval other than ``INTERVALS``.
    """
    if n < 0:
        raise ValueError(f"renewal number must not be negative, got {n}")
    if interval in _WEEKS:
        return anchor + timedelta(weeks=_WEEKS[interval] * n)
    if interval in _MONTHS:
        return add_months(anchor, _MONTHS[interval] * n)
    raise ValueError(f"unsupported interval {interval!r}; use one of {', '.join(INTERVALS)}")


def first_period_from(anchor: datetime, interval: Interval, n: int, moment: datetime) -> int:
    """The first renewal number, ``n`` or later, that falls at or after ``moment``
    (the periods a pause covered are passed over, never ordered late)."""
    while renewal_at(anchor, interval, n) < moment:
        n += 1
    return n


def retry_at(
    first_decline: datetime, attempt: int, schedule: Sequence[timedelta] = DUNNING_SCHEDULE
) -> datetime | None:
    """When retry ``attempt`` (1 for the first) of a declined renewal is due, counted from
    the first decline; None once the schedule is used up (the subscription is past due).

    Raises ``ValueError`` for an ``attempt`` below 1.
    """
    if attempt < 1:
        raise ValueError(f"retries are numbered from 1, got {attempt}")
    if attempt > len(schedule):
        return None
    return first_decline + schedule[attempt - 1]


def order_id(subscription_id: str, n: int) -> str:
    """The order renewal ``n`` places: ``SUB-<subscription>-<n + 1>`` (one per period)."""
    return f"SUB-{subscription_id}-{n + 1}"
