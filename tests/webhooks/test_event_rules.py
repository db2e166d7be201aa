"""The pure rules: which transitions are events, their ids, subscriptions, URLs, retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oms.domain.events import EVENT_TYPES, event_id, matches, transitions, valid_pattern
from oms.domain.webhooks import RetrySchedule, address_forbidden, new_secret, url_problem

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def entries(*statuses: str) -> list[dict[str, object]]:
    return [{"at": T0 + timedelta(seconds=n), "status": s} for n, s in enumerate(statuses)]


def test_the_issue_s_event_types_are_all_there() -> None:
    required = {
        "order.received", "order.confirmed", "order.on_hold", "order.backordered",
        "order.allocated", "order.shipped", "order.delivered", "order.completed",
        "order.cancelled", "shipment.shipped", "shipment.delivered", "return.requested",
        "return.received", "return.refunded", "quote.submitted", "quote.approved",
        "quote.accepted", "quote.expired", "stock.low", "purchase_order.sent",
        "purchase_order.received",
    }  # fmt: skip
    assert required <= set(EVENT_TYPES)


def test_a_new_view_s_status_changes_are_events_and_notes_are_not() -> None:
    history = entries("received", "received", "confirmed", "picking", "allocated")
    found = transitions("order", None, history)
    assert [(t.index, t.type) for t in found] == [
        (0, "order.received"),
        (2, "order.confirmed"),
        (4, "order.allocated"),
    ]


def test_a_filled_backorder_is_allocated_though_it_goes_straight_to_picking() -> None:
    history = entries("received", "confirmed", "backordered", "picking", "shipped")
    found = transitions("order", history[:3], history)
    assert [(t.index, t.type) for t in found] == [(3, "order.allocated"), (4, "order.shipped")]
    # Picking after allocated is no second allocation.
    normal = entries("received", "confirmed", "allocated", "picking")
    assert [t.type for t in transitions("order", None, normal)][-1] == "order.allocated"


def test_only_entries_after_the_stored_history_count() -> None:
    history = entries("received", "confirmed", "allocated", "allocated", "shipped")
    found = transitions("order", history[:3], history)
    assert [t.type for t in found] == ["order.shipped"]
    assert transitions("order", history, history) == []
    # A stale, shorter view adds nothing.
    assert transitions("order", history, history[:2]) == []


def test_event_ids_are_deterministic_and_distinct() -> None:
    assert event_id("order.shipped", "A", 3) == event_id("order.shipped", "A", 3)
    assert event_id("order.shipped", "A", 3) != event_id("order.shipped", "A", 4)
    assert event_id("order.shipped", "A", 3) != event_id("order.shipped", "B", 3)
    assert event_id("order.shipped", "A", 3).startswith("evt_")


def test_subscriptions_match_by_pattern() -> None:
    assert matches(["order.*"], "order.shipped")
    assert not matches(["order.*"], "shipment.shipped")
    assert matches(["return.refunded", "quote.*"], "quote.expired")
    assert matches(["*"], "stock.low")
    assert valid_pattern("purchase_order.*") and not valid_pattern("orders.*")


@pytest.mark.parametrize(
    ("url", "allow_http", "ok"),
    [
        ("https://hooks.example.com/oms", False, True),
        ("http://127.0.0.1:8300/webhooks", False, False),
        ("http://127.0.0.1:8300/webhooks", True, True),
        ("https://169.254.169.254/latest/meta-data", False, False),
        ("https://[fe80::1]/x", False, False),
        ("https://[::ffff:169.254.1.1]/x", False, False),
        # 169.254.169.254 in the numeric forms resolvers still accept.
        ("http://2852039166/x", True, False),
        ("https://0xa9fea9fe/x", False, False),
        ("https://0251.0376.0251.0376/x", False, False),
        ("https://169.254.43518/x", False, False),
        ("http://2130706433:8300/x", True, True),  # 127.0.0.1: loopback stays allowed
        ("https://1e100.net/x", False, True),  # a name, not a number
        ("https://metadata.google.internal/", False, False),
        ("https://user:pw@hooks.example.com/", False, False),
        ("ftp://hooks.example.com/", True, False),
        ("https:///nohost", False, False),
        ("https://hooks.example.com:99999/", False, False),
    ],
)
def test_endpoint_urls(url: str, allow_http: bool, ok: bool) -> None:
    assert (url_problem(url, allow_http=allow_http) is None) is ok


def test_link_local_and_metadata_addresses_are_forbidden_loopback_is_not() -> None:
    assert address_forbidden("169.254.10.1") and address_forbidden("fd00:ec2::254")
    assert not address_forbidden("127.0.0.1") and not address_forbidden("10.0.0.5")


def test_secrets_are_whsec_base64() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and secret != new_secret()


def test_retries_back_off_exponentially_for_three_days_then_give_up() -> None:
    schedule = RetrySchedule()
    assert [schedule.delay(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert schedule.delay(30).total_seconds() == 6 * 3600
    now, attempts, first = T0, 0, T0
    while True:
        attempts += 1
        due = schedule.next_attempt(attempts, first, now)
        if due is None:
            break
        now = due
    assert now - first >= timedelta(days=3)
    assert now - first < timedelta(days=3, hours=7)
    assert 15 < attempts < 40


def test_an_order_s_changes_after_placement_are_events_under_its_status() -> None:
    """Edits and line cancels (a short pick's under the ``cancel`` policy among them) move
    the order's lines and total, and a claim refunds or sends again: an integration hears
    of each, as it hears of a status. A short pick backordered moves neither: no event."""
    history = [
        *entries("received", "confirmed", "picking"),
        {"at": T0, "status": "picking", "action": "edit"},
        {"at": T0, "status": "picking", "action": "note"},
        {"at": T0, "status": "picking", "action": "cancel_line"},
        # A short pick under the backorder policy: the units are owed, the total kept.
        {"at": T0, "status": "picking", "action": "short_pick"},
        # A short pick under the cancel policy: the missing units cancelled, one line each.
        {"at": T0, "status": "picking", "action": "cancel_line"},
        {"at": T0, "status": "shipped"},
        {"at": T0, "status": "shipped", "action": "claim"},
    ]
    found = transitions("order", entries("received"), history)
    assert [(t.index, t.type, t.status) for t in found] == [
        (1, "order.confirmed", "confirmed"),
        (3, "order.changed", "picking"),
        (5, "order.changed", "picking"),
        (7, "order.changed", "picking"),
        (8, "order.shipped", "shipped"),
        (9, "order.claimed", "shipped"),
    ]
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES))
    assert {"order.changed", "order.claimed"} <= set(EVENT_TYPES)
