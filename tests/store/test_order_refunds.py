"""Refunds without a return: one row per order and request key, answered once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from oms.models.common import HistoryEntry
from oms.models.money import TaxLine
from oms.models.orders import OrderRefund, OrderStatus
from oms.store import refunds
from oms.store.db import Database

from inventory_fixtures import T0, order_view


def _claim(db: Database, key: str, amount: str = "50.00", reason: str = "late") -> OrderRefund:
    with db.session() as session:
        return refunds.claim(session, "O-1", key, Decimal(amount), "SEK", reason, "support-1", T0)


def test_a_key_is_claimed_once_and_answered_once(db: Database) -> None:
    first = _claim(db, "k-1")
    assert _claim(db, "k-1") == first  # the same request again: the same refund
    with pytest.raises(refunds.RefundKeyReused, match=r"already refunded 50\.00 SEK"):
        _claim(db, "k-1", amount="60.00")
    with pytest.raises(refunds.RefundKeyReused):
        _claim(db, "k-1", reason="other")
    later = T0 + timedelta(minutes=1)
    with db.session() as session:
        done = refunds.finish(session, "O-1", "k-1", "RF-1", None, later)
        # A late second answer (a retried activity) does not change the first.
        assert refunds.finish(session, "O-1", "k-1", None, "declined", later) == done
        with pytest.raises(LookupError):
            refunds.finish(session, "O-1", "k-404", "RF-2", None, later)
    assert (done.status, done.refund_id, done.updated_at) == ("refunded", "RF-1", later)


def test_the_view_shows_answered_refunds_in_its_history_by_time(db: Database) -> None:
    _claim(db, "k-1")
    _claim(db, "k-2", amount="900.00")
    _claim(db, "k-3", amount="1.00")  # still pending: no history line yet
    with db.session() as session:
        refunds.finish(session, "O-1", "k-1", "RF-1", None, T0 + timedelta(minutes=2))
        refunds.finish(session, "O-1", "k-2", None, "RefundDeclined: too much", T0)
        found = refunds.for_order(session, "O-1")
    view = order_view("O-1")
    refunds.show_on(view, found)
    assert [r.key for r in view.refunds] == ["k-1", "k-2", "k-3"]
    assert [(h.note, h.by) for h in view.history] == [
        ("Refund of 900.00 SEK declined: RefundDeclined: too much", "support-1"),
        ("Refunded 50.00 SEK (RF-1): late", "support-1"),
    ]


def test_a_refund_line_stands_under_the_status_the_order_had_then(db: Database) -> None:
    """A refund declined while the order was partly shipped read as one of the completed
    order, and its net and VAT split as if money had moved."""
    with db.session() as session:
        refunds.claim(
            session,
            "O-1",
            "k-1",
            Decimal("99.00"),
            "SEK",
            "late",
            "support-1",
            T0,
            tax=[TaxLine(rate=Decimal("0.25"), net=Decimal("79.20"), tax=Decimal("19.80"))],
        )
        refunds.finish(
            session, "O-1", "k-1", None, "RefundDeclined: too much", T0 + timedelta(minutes=5)
        )
        found = refunds.for_order(session, "O-1")
    assert found[0].net == Decimal("79.20")  # the request's split is kept in the store
    view = order_view("O-1", status=OrderStatus.COMPLETED)
    view.history = [
        HistoryEntry(at=T0, status="partially_shipped", note="one parcel shipped"),
        HistoryEntry(at=T0 + timedelta(hours=1), status="completed", note="done"),
    ]
    refunds.show_on(view, found)
    declined = next(h for h in view.history if h.action == "refund")
    assert (declined.status, declined.note) == (
        "partially_shipped",
        "Refund of 99.00 SEK declined: RefundDeclined: too much",
    )
    assert (view.refunds[0].net, view.refunds[0].tax) == (None, [])
