"""The outbox on SQLite and PostgreSQL: events once per transition, fanned out to
subscribed endpoints, delivered in order, retried, dead, replayed; the feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms.domain.webhooks import RetrySchedule
from oms.models.common import HistoryEntry
from oms.models.webhooks import EndpointIn, SendResult
from oms.store import events, webhooks
from oms.store.db import Database

T0 = datetime(2026, 12, 1, tzinfo=UTC)
FAIL = SendResult(ok=False, status_code=500, error="HTTP 500")
OK = SendResult(ok=True, status_code=204)


class FakeView:
    """The shape ``record_transitions`` reads: a history and a JSON dump."""

    def __init__(self, object_id: str, *statuses: str) -> None:
        self.object_id = object_id
        self.history = [
            HistoryEntry(at=T0 + timedelta(seconds=n), status=s) for n, s in enumerate(statuses)
        ]

    def model_dump(self, mode: str) -> dict[str, object]:
        return {
            "order_id": self.object_id,
            "status": self.history[-1].status,
            "history": [h.model_dump(mode=mode) for h in self.history],
        }


def write(db: Database, view: FakeView, previous: FakeView | None) -> int:
    with db.session() as session:
        before = None if previous is None else previous.model_dump("json")
        return events.record_transitions(session, "order", view.object_id, before, view)  # type: ignore[arg-type]


def endpoint(db: Database, patterns: list[str]) -> str:
    with db.session() as session:
        body = EndpointIn(url="https://hooks.example.com/x", events=patterns)
        return webhooks.create_endpoint(session, body).endpoint_id


def test_each_transition_is_one_event_fanned_out_to_subscribed_endpoints(db: Database) -> None:
    orders_ep, quotes_ep = endpoint(db, ["order.*"]), endpoint(db, ["quote.*"])
    first = FakeView("A", "received", "confirmed")
    assert write(db, first, None) == 2
    # The same write again (a retried activity) and a later one with one more status.
    assert write(db, first, None) == 0
    assert write(db, FakeView("A", "received", "confirmed", "allocated"), first) == 1
    store = webhooks.WebhookStore(db)
    target = store.due(orders_ep)
    assert target is not None
    assert [d.body["type"] for d in target.due] == [
        "order.received",
        "order.confirmed",
        "order.allocated",
    ]
    empty = store.due(quotes_ep)
    assert empty is not None and empty.due == []


def test_each_event_s_data_has_the_status_it_entered_when_one_write_holds_several(
    db: Database,
) -> None:
    # The last parcel's delivery completes the order in the same workflow task: one write
    # adds both entries, and order.delivered must not say "completed".
    ep = endpoint(db, ["order.*"])
    shipped = FakeView("A", "received", "confirmed", "allocated", "shipped")
    write(db, shipped, None)
    assert (
        write(
            db,
            FakeView("A", *[h.status for h in shipped.history], "delivered", "completed"),
            shipped,
        )
        == 2
    )
    target = webhooks.WebhookStore(db).due(ep)
    assert target is not None
    bodies = {d.body["type"]: d.body["data"] for d in target.due}
    assert bodies["order.delivered"]["status"] == "delivered"
    assert bodies["order.completed"]["status"] == "completed"
    assert bodies["order.shipped"]["status"] == "shipped"
    assert bodies["order.received"]["status"] == "received"
    # The rest of the data is the object as that write stored it.
    assert len(bodies["order.delivered"]["history"]) == 6


def test_a_failure_is_retried_on_schedule_then_dead_and_replay_resends(db: Database) -> None:
    ep = endpoint(db, ["*"])
    write(db, FakeView("B", "received"), None)
    store = webhooks.WebhookStore(db)
    target = store.due(ep)
    assert target is not None
    seq = target.due[0].seq
    quick = RetrySchedule(base_s=60, max_s=60, give_up_s=3600)
    first = store.record_attempt(ep, seq, FAIL, quick)
    assert first.outcome == "failed" and first.next_attempt_at is not None
    assert store.has_due(ep)
    dead = store.record_attempt(ep, seq, FAIL, RetrySchedule(give_up_s=0.0001))
    assert dead.outcome == "dead"
    assert not store.has_due(ep)
    with db.session() as session:
        [stuck] = webhooks.dead_deliveries(session)
        assert stuck.endpoint_id == ep and stuck.last_error == "HTTP 500" and stuck.attempts == 2
        listed = webhooks.deliveries(session, ep)
        assert [a.outcome for a in listed.attempts] == ["dead", "failed"]
        assert listed.dead == 1 and listed.pending == 0 and listed.next_cursor is None
        newest = webhooks.deliveries(session, ep, limit=1)
        assert [a.outcome for a in newest.attempts] == ["dead"] and newest.next_cursor
        older = webhooks.deliveries(session, ep, limit=1, cursor=newest.next_cursor)
        assert [a.outcome for a in older.attempts] == ["failed"] and older.next_cursor is None
        assert webhooks.replay(session, ep, T0 - timedelta(days=1)) == 1
    assert store.record_attempt(ep, seq, OK, quick).outcome == "delivered"
    with db.session() as session:
        assert webhooks.dead_deliveries(session) == []


def test_replay_backfills_events_from_before_the_endpoint(db: Database) -> None:
    write(db, FakeView("C", "received", "confirmed"), None)
    ep = endpoint(db, ["order.confirmed"])
    store = webhooks.WebhookStore(db)
    assert not store.has_due(ep)
    with db.session() as session:
        assert webhooks.replay(session, ep, T0 - timedelta(days=1)) == 1
    target = store.due(ep)
    assert target is not None and [d.body["type"] for d in target.due] == ["order.confirmed"]


def test_the_feed_pages_in_order_with_a_cursor(db: Database) -> None:
    write(db, FakeView("D", "received", "confirmed", "allocated"), None)
    with db.session() as session:
        page = webhooks.feed(session, 0, 2)
        assert [e.type for e in page.events] == ["order.received", "order.confirmed"]
        rest = webhooks.feed(session, int(page.next_cursor), 2)
        assert [e.type for e in rest.events] == ["order.allocated"]
        end = webhooks.feed(session, int(rest.next_cursor), 2)
        assert end.events == [] and end.next_cursor == rest.next_cursor
        assert webhooks.feed(session, 0, 10, settle_s=3600).events == []


def test_removing_an_endpoint_forgets_its_deliveries(db: Database) -> None:
    ep = endpoint(db, ["*"])
    write(db, FakeView("E", "received"), None)
    with db.session() as session:
        assert webhooks.delete_endpoint(session, ep)
        assert not webhooks.delete_endpoint(session, ep)
    assert webhooks.WebhookStore(db).due(ep) is None
    assert webhooks.WebhookStore(db).has_due(ep)  # gone: the relay should look, and end
