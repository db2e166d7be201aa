"""Card authorizations lapse: the order re-authorizes before shipping on an old one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oms.domain.payments import needs_reauthorization, reauthorization_margin

WEEK = 7 * 24 * 3600
MADE = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_a_fresh_authorization_is_shipped_on() -> None:
    assert not needs_reauthorization(MADE, MADE + timedelta(days=2), WEEK)


def test_a_year_old_authorization_is_renewed() -> None:
    assert needs_reauthorization(MADE, MADE + timedelta(days=365), WEEK)


def test_one_is_renewed_a_margin_before_it_lapses_not_only_after() -> None:
    margin = reauthorization_margin(WEEK)
    assert timedelta(0) < margin <= timedelta(days=1)
    assert not needs_reauthorization(MADE, MADE + timedelta(seconds=WEEK) - margin * 2, WEEK)
    assert needs_reauthorization(MADE, MADE + timedelta(seconds=WEEK) - margin, WEEK)


def test_the_margin_is_a_day_at_most_and_a_tenth_of_a_short_validity() -> None:
    assert reauthorization_margin(30 * 24 * 3600) == timedelta(days=1)
    assert reauthorization_margin(60) == timedelta(seconds=6)


def test_a_validity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        needs_reauthorization(MADE, MADE, 0)
