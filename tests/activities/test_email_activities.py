"""email.send: at least once per business key, never again once sent, the same Message-ID on
every attempt; on SQLite and PostgreSQL, over real SMTP."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Executable
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.adapters.email_smtp import SmtpMailer
from activities.notifications import EmailActivities
from oms.models.notifications import EmailRequest
from oms.ports.email import message_id_for
from oms.ports.errors import EmailUnavailable
from oms.store.db import Database
from oms.store.outbox import Outbox, _get_or_create
from oms.store.tables import NotificationRow

from smtp_fixtures import SmtpRecorder, free_port, smtp_recorder_fixture

smtp_recorder = smtp_recorder_fixture()


def activities_for(port: int, db: Database) -> EmailActivities:
    return EmailActivities(
        SmtpMailer("127.0.0.1", port, "orders@oms.example", timeout=5), Outbox(db)
    )


def confirmed(key: str = "A-1:confirmed", **changes: Any) -> EmailRequest:
    request = EmailRequest(
        key=key,
        to="ann@example.com",
        locale="sv",
        template="order_confirmed",
        context={
            "customer_name": "Ann",
            "order_id": "A-1",
            "lines": [{"sku": "MUG-1", "quantity": 1, "line_total": "99.00 SEK"}],
            "total": "99.00 SEK",
        },
    )
    return request.model_copy(update=changes)


def outbox_row(db: Database, key: str) -> NotificationRow | None:
    with db.session() as session:
        return session.get(NotificationRow, key)


def test_sending_the_same_key_twice_delivers_one_message(
    db: Database, smtp_recorder: SmtpRecorder
) -> None:
    acts = activities_for(smtp_recorder.port, db)
    env = ActivityEnvironment()

    first = env.run(acts.send, confirmed())
    second = env.run(acts.send, confirmed())

    assert first.already_sent is False
    assert second.already_sent is True
    assert first.message_id == second.message_id == message_id_for("A-1:confirmed")
    [mail] = smtp_recorder.messages
    assert mail.key == "A-1:confirmed"
    assert mail.subject == "Order A-1 är bekräftad"
    row = outbox_row(db, "A-1:confirmed")
    assert row is not None
    assert (row.status, row.attempts, row.recipient) == ("sent", 1, "ann@example.com")
    assert row.subject == "Order A-1 är bekräftad"
    assert row.sent_at is not None


def test_a_key_already_sent_is_not_sent_again_whatever_the_request_says(
    db: Database, smtp_recorder: SmtpRecorder
) -> None:
    acts = activities_for(smtp_recorder.port, db)
    env = ActivityEnvironment()
    env.run(acts.send, confirmed())

    again = env.run(acts.send, confirmed(template="no_such_template", to="other@example.com"))

    assert again.already_sent is True
    assert len(smtp_recorder.messages) == 1


def test_different_keys_each_send_their_own_message(
    db: Database, smtp_recorder: SmtpRecorder
) -> None:
    acts = activities_for(smtp_recorder.port, db)
    env = ActivityEnvironment()

    env.run(acts.send, confirmed("A-1:confirmed"))
    env.run(acts.send, confirmed("A-2:confirmed"))

    assert [m.key for m in smtp_recorder.messages] == ["A-1:confirmed", "A-2:confirmed"]


def test_unknown_template_fails_for_good_and_leaves_no_outbox_row(
    db: Database, smtp_recorder: SmtpRecorder
) -> None:
    acts = activities_for(smtp_recorder.port, db)

    with pytest.raises(ApplicationError) as caught:
        ActivityEnvironment().run(acts.send, confirmed(template="no_such_template"))

    assert caught.value.type == "TemplateError"
    assert caught.value.non_retryable is True
    assert outbox_row(db, "A-1:confirmed") is None
    assert smtp_recorder.messages == []


def test_missing_context_variable_fails_for_good(db: Database, smtp_recorder: SmtpRecorder) -> None:
    acts = activities_for(smtp_recorder.port, db)

    with pytest.raises(ApplicationError) as caught:
        ActivityEnvironment().run(acts.send, confirmed(context={"order_id": "A-1"}))

    assert caught.value.type == "TemplateError"
    assert caught.value.non_retryable is True
    assert "customer_name" in str(caught.value)


def test_refused_recipient_fails_for_good_and_the_row_stays_pending(
    db: Database, smtp_recorder: SmtpRecorder
) -> None:
    smtp_recorder.refusals["ann@example.com"] = "550 5.1.1 no such user"
    acts = activities_for(smtp_recorder.port, db)

    with pytest.raises(ApplicationError) as caught:
        ActivityEnvironment().run(acts.send, confirmed())

    assert caught.value.type == "EmailRejected"
    assert caught.value.non_retryable is True
    row = outbox_row(db, "A-1:confirmed")
    assert row is not None
    assert row.status == "pending"


def test_server_down_is_retryable_and_the_retry_sends_once_the_server_is_up(
    db: Database,
) -> None:
    port = free_port()
    acts = activities_for(port, db)
    env = ActivityEnvironment()

    with pytest.raises(EmailUnavailable):
        env.run(acts.send, confirmed())

    # A plain exception, not a non-retryable ApplicationError: Temporal retries it.
    row = outbox_row(db, "A-1:confirmed")
    assert row is not None
    assert (row.status, row.attempts, row.sent_at) == ("pending", 1, None)

    with SmtpRecorder(port=port) as recorder:
        result = env.run(acts.send, confirmed())

    assert result.already_sent is False
    assert [m.key for m in recorder.messages] == ["A-1:confirmed"]
    row = outbox_row(db, "A-1:confirmed")
    assert row is not None
    assert (row.status, row.attempts) == ("sent", 2)


def test_losing_the_insert_race_returns_the_row_the_other_attempt_wrote(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = confirmed()
    with db.session() as session:
        session.add(
            NotificationRow(
                key=request.key,
                recipient=request.to,
                template=request.template,
                subject="",
                message_id=message_id_for(request.key),
                status="sent",
                attempts=1,
            )
        )

    with db.session() as session:
        # This attempt's first look happened before the other attempt committed; the look
        # after its insert failed sees the other attempt's row.
        looks = [None]
        real_get = session.get
        monkeypatch.setattr(
            session,
            "get",
            lambda *args, **kwargs: looks.pop() if looks else real_get(*args, **kwargs),
        )
        row = _get_or_create(session, request, message_id_for(request.key))
        assert not looks
        assert (row.status, row.attempts) == ("sent", 1)


class _LosesTheDatabase:
    """A ``Database`` whose transactions (sessions and ``execute_alone``), from the
    ``from_call``-th on, fail: ``"down"`` before committing anything (for ``times``
    transactions, then healthy again), ``"lost_reply"`` after the commit went through
    (once)."""

    def __init__(self, db: Database, from_call: int, how: str, times: int = 1_000_000) -> None:
        self.db = db
        self.calls = 0
        self.from_call = from_call
        self.how = how
        self.times = times

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        failing = self._before()
        with self.db.session() as session:
            yield session
        self._after(failing)

    def execute_alone(self, statement: Executable) -> None:
        failing = self._before()
        self.db.execute_alone(statement)
        self._after(failing)

    def _before(self) -> bool:
        self.calls += 1
        failing = self.from_call <= self.calls < self.from_call + self.times
        if failing and self.how == "down":
            raise OperationalError("BEGIN", {}, Exception("connection refused"))
        return failing

    def _after(self, failing: bool) -> None:
        if failing and self.how == "lost_reply":
            self.how = "healthy"
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))


def test_the_database_lost_after_the_smtp_reply_makes_the_retry_send_the_same_message_again(
    db: Database, smtp_recorder: SmtpRecorder
) -> None:
    # The documented duplicate: the server accepted, the outbox could not record it.
    acts = activities_for(smtp_recorder.port, db)
    # Session 1 creates the row; from session 2 on (the "sent" mark) the database is away.
    acts.outbox.db = _LosesTheDatabase(db, from_call=2, how="down")  # type: ignore[assignment]

    with pytest.raises(OperationalError):
        ActivityEnvironment().run(acts.send, confirmed())
    row = outbox_row(db, "A-1:confirmed")
    assert row is not None and (row.status, row.attempts) == ("pending", 1)

    acts.outbox.db = db
    result = ActivityEnvironment().run(acts.send, confirmed())

    assert result.already_sent is False
    first, second = smtp_recorder.messages_for("A-1:confirmed")
    assert first.message_id == second.message_id == message_id_for("A-1:confirmed")
    assert first.key == second.key == "A-1:confirmed"
    row = outbox_row(db, "A-1:confirmed")
    assert row is not None and (row.status, row.attempts) == ("sent", 2)
    # Recorded now: a third attempt sends nothing.
    assert ActivityEnvironment().run(acts.send, confirmed()).already_sent is True
    assert len(smtp_recorder.messages) == 2


def test_a_short_outage_after_the_smtp_reply_is_waited_out_and_costs_no_duplicate(
    db: Database, smtp_recorder: SmtpRecorder
) -> None:
    acts = activities_for(smtp_recorder.port, db)
    acts.outbox.db = _LosesTheDatabase(db, from_call=2, how="down", times=2)  # type: ignore[assignment]

    result = ActivityEnvironment().run(acts.send, confirmed())

    assert result.already_sent is False
    assert [m.key for m in smtp_recorder.messages] == ["A-1:confirmed"]
    row = outbox_row(db, "A-1:confirmed")
    assert row is not None and (row.status, row.attempts) == ("sent", 1)


def test_a_lost_reply_to_the_sent_mark_is_retried_and_nothing_goes_out_twice(
    db: Database, smtp_recorder: SmtpRecorder
) -> None:
    acts = activities_for(smtp_recorder.port, db)
    acts.outbox.db = _LosesTheDatabase(db, from_call=2, how="lost_reply")  # type: ignore[assignment]

    result = ActivityEnvironment().run(acts.send, confirmed())

    assert result.already_sent is False
    assert [m.key for m in smtp_recorder.messages] == ["A-1:confirmed"]
    row = outbox_row(db, "A-1:confirmed")
    assert row is not None and (row.status, row.attempts) == ("sent", 1)


def test_the_database_down_before_sending_sends_nothing_and_the_retry_sends_once(
    db: Database, smtp_recorder: SmtpRecorder
) -> None:
    acts = activities_for(smtp_recorder.port, db)
    acts.outbox.db = _LosesTheDatabase(db, from_call=1, how="down")  # type: ignore[assignment]

    with pytest.raises(OperationalError):
        ActivityEnvironment().run(acts.send, confirmed())
    assert outbox_row(db, "A-1:confirmed") is None
    assert smtp_recorder.messages == []

    acts.outbox.db = db
    ActivityEnvironment().run(acts.send, confirmed())

    assert [m.key for m in smtp_recorder.messages] == ["A-1:confirmed"]


def test_a_row_the_earlier_exactly_once_outbox_left_sending_counts_as_sent(
    db: Database, smtp_recorder: SmtpRecorder
) -> None:
    request = confirmed()
    with db.session() as session:
        session.add(
            NotificationRow(
                key=request.key,
                recipient=request.to,
                template=request.template,
                subject="",
                message_id=message_id_for(request.key),
                status="sending",
                attempts=1,
            )
        )
    acts = activities_for(smtp_recorder.port, db)

    again = ActivityEnvironment().run(acts.send, request)

    assert again.already_sent is True
    row = outbox_row(db, "A-1:confirmed")
    assert row is not None and row.status == "sent" and row.sent_at is not None
    assert smtp_recorder.messages == []
