"""``Database.read`` sessions and the ids taken for good (``idempotency.reserve_id``).

A read takes no lock on SQLite, so it answers while a writer holds the database (a write
session's ``BEGIN IMMEDIATE`` would queue behind it for the busy timeout); it refuses to
flush a change. An id is taken once, whoever asks first, on both stores.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from oms.store import idempotency, tokens
from oms.store.db import Database, ReadOnlySession
from oms.store.migrate import upgrade
from oms.store.tables import ApiTokenRow


def test_a_read_answers_from_its_snapshot_while_a_writer_holds_the_store(
    sqlite_url: str,
) -> None:
    upgrade(sqlite_url)
    db = Database(sqlite_url)
    with db.session() as session:
        token, info = tokens.create_token(session, "ops", "olle")
    answered: list[str | None] = []

    def read() -> None:
        with db.read() as session:
            principal = tokens.resolve(session, token)
        answered.append(None if principal is None else principal.subject)

    with db.session() as writer:  # BEGIN IMMEDIATE: the write lock until the block ends
        row = writer.get(ApiTokenRow, info.token_id)
        assert row is not None
        row.subject = "changed-but-not-committed"
        writer.flush()
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=10)  # a locking read would wait the 30 s busy timeout
        assert not reader.is_alive(), "the read queued behind the writer"
    assert answered == ["olle"]  # what was committed when it began, not the open change
    db.dispose()


def test_a_read_session_refuses_to_flush_a_change(db: Database) -> None:
    with db.session() as session:
        _token, info = tokens.create_token(session, "ops", "olle")
    with pytest.raises(ReadOnlySession), db.read() as session:
        row = session.get(ApiTokenRow, info.token_id)
        assert row is not None
        row.subject = "someone-else"
        session.flush()
    with db.read() as session:
        row = session.get(ApiTokenRow, info.token_id)
        assert row is not None and row.subject == "olle"


def test_an_id_is_taken_once_and_later_callers_learn_who_took_it(db: Database) -> None:
    with db.session() as session:
        first = idempotency.reserve_id(session, "order", "O-1", "karin", "h1")
    with db.session() as session:
        again = idempotency.reserve_id(session, "order", "O-1", "olle", "h2")
        other_kind = idempotency.reserve_id(session, "quote", "O-1", "olle", None)
    assert first == idempotency.Reservation(owner="karin", body_hash="h1", new=True)
    assert again == idempotency.Reservation(owner="karin", body_hash="h1", new=False)
    assert other_kind == idempotency.Reservation(owner="olle", body_hash=None, new=True)


def test_concurrent_takers_of_one_id_get_one_winner(db: Database) -> None:
    def take(n: int) -> idempotency.Reservation:
        with db.session() as session:
            return idempotency.reserve_id(session, "order", "O-RACE", f"caller-{n}", f"h{n}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(take, range(8)))
    winners = [a for a in answers if a.new]
    assert len(winners) == 1
    assert {(a.owner, a.body_hash) for a in answers} == {(winners[0].owner, winners[0].body_hash)}


def test_a_quote_takes_its_order_id_with_its_own_or_takes_nothing(db: Database) -> None:
    """A quote's order id (``Q-1-O``) is taken with the quote's, for the quote; when anyone
    else holds it, the quote's id is not taken either (the transaction is undone)."""
    derived = [("order", "Q-1-O")]
    with db.session() as session:
        quote = idempotency.reserve_with_derived(session, "quote", "Q-1", "karin", "h1", derived)
    assert quote == idempotency.Reservation(owner="karin", body_hash="h1", new=True)
    with db.session() as session:
        order = idempotency.reserve_id(session, "order", "Q-1-O", "olle", "h9")
        # The same quote again takes nothing new and is not refused: the order id is its own.
        again = idempotency.reserve_with_derived(session, "quote", "Q-1", "karin", "h1", derived)
    assert order == idempotency.Reservation(owner="quote Q-1", body_hash=None, new=False)
    assert again == idempotency.Reservation(owner="karin", body_hash="h1", new=False)

    with db.session() as session:
        idempotency.reserve_id(session, "order", "Q-2-O", "olle", "h9")
    with pytest.raises(idempotency.IdTaken) as taken, db.session() as session:
        idempotency.reserve_with_derived(
            session, "quote", "Q-2", "karin", "h2", [("order", "Q-2-O")]
        )
    assert (taken.value.kind, taken.value.id, taken.value.holder.owner) == (
        "order",
        "Q-2-O",
        "olle",
    )
    with db.session() as session:
        # Q-2 was not kept: the next taker of the id is its first.
        later = idempotency.reserve_id(session, "quote", "Q-2", "anna", "h3")
    assert later.new
