"""A sandbox payment provider with a ledger of its own (not the OMS's schema).

The ledger is one table, ``sandbox_payment_ledger``, that the sandbox creates
itself in a database of its own, never the OMS's (``ledger_url``), the way a real
provider keeps its books where the OMS cannot see them. Every process of one OMS
derives the same database from the OMS's, so several workers share one ledger (and
its idempotency keys). The OMS reaches it only through the ``PaymentProvider`` port
(``oms/ports/payments.py``).

Every operation is one ledger row under a unique idempotency
key, so a repeated call returns the first answer. Money rules: captures and
voids together never exceed the authorized amount; refunds of an order never
exceed what was captured for it (checked holding the order's authorization
row locks, so concurrent refunds queue).

Authorizations expire as a card network's do: a capture on an authorization older than
``authorization_valid_s`` (``OMS_PAYMENT_AUTHORIZATION_VALID_S``, the setting the order
workflow re-authorizes by) is refused for good (``AuthorizationExpired``); a void of one
still succeeds (it releases nothing the customer still sees, but keeps the books even).

Refund failures for testing and demos: ``refund_unavailable_attempts=N``
makes the first N attempts of every refund key fail as "provider down"
(``PaymentUnavailable``, transient); a refund over ``refund_decline_over`` is
declined for good (``RefundDeclined``). Neither writes a ledger row, so the
same key can be tried again later.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import Integer, Numeric, String, Text, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from oms.models.payments import (
    Authorization,
    AuthorizeRequest,
    Capture,
    CaptureRequest,
    VoidAuthorizationRequest,
    VoidAuthorizationResult,
)
from oms.models.returns import Refund, RefundRequest
from oms.ports.errors import (
    AuthorizationExpired,
    PaymentRejected,
    PaymentUnavailable,
    RefundDeclined,
)
from oms.settings import Settings
from oms.store.db import Database
from oms.store.tables import utcnow

DECLINED_TOKEN = "tok_declined"
# The ledger's database on the OMS's PostgreSQL server: the OMS's database name plus this.
LEDGER_DATABASE_SUFFIX = "_payments_sandbox"


class LedgerBase(DeclarativeBase):
    """The sandbox's own metadata: never part of the OMS's tables or migrations."""


class LedgerRow(LedgerBase):
    """One row per authorize/capture/void/refund idempotency key."""

    __tablename__ = "sandbox_payment_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # authorize | capture | void | refund
    authorization_id: Mapped[str] = mapped_column(String(80), index=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def ledger_url(settings: Settings) -> str:
    """Where the sandbox keeps its ledger: ``payments_sandbox_url``; else, beside an OMS on
    SQLite, the file ``<store>.payments-sandbox.db``; else, beside an OMS on PostgreSQL, the
    database ``<store>_payments_sandbox`` on the same server, reached the same way but
    without the store's ``options`` (its ``search_path`` names the OMS's schema)."""
    if settings.payments_sandbox_url:
        return settings.payments_sandbox_url
    if settings.database_url.startswith("sqlite:///"):
        path = settings.database_url.removeprefix("sqlite:///")
        stem = path[:-3] if path.endswith(".db") else path
        return f"sqlite:///{stem}.payments-sandbox.db"
    store = make_url(settings.database_url)
    ledger = store.set(database=f"{store.database}{LEDGER_DATABASE_SUFFIX}")
    return ledger.difference_update_query(["options"]).render_as_string(hide_password=False)


def ledger_database(url: str) -> Database:
    """The ledger's database at ``url`` (the provider creates its table when missing)."""
    return Database(url)


def create_ledger_database(settings: Settings) -> None:
    """Create the PostgreSQL database ``ledger_url`` derives beside the OMS's, when it is
    missing, connecting through the OMS's own database. Several processes may start at
    once: one creates it, the others find it. Raises ``DBAPIError`` when the OMS's user may
    not create databases (then create it, or name one in ``OMS_PAYMENTS_SANDBOX_URL``)."""
    if settings.payments_sandbox_url or not settings.database_url.startswith("postgresql"):
        return
    name = make_url(ledger_url(settings)).database
    admin = create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    exists = text("SELECT 1 FROM pg_database WHERE datname = :name")
    try:
        with admin.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote(str(name))
            for attempt in range(5):
                if conn.scalar(exists, {"name": name}):
                    return
                try:
                    conn.execute(text(f"CREATE DATABASE {quoted}"))
                    return
                except DBAPIError:
                    # Another process's CREATE DATABASE won, or still holds template1.
                    if attempt == 4:
                        raise
                    time.sleep(0.2 * (attempt + 1))
    finally:
        admin.dispose()


class LedgerEntry(BaseModel):
    kind: str
    idempotency_key: str
    authorization_id: str
    status: str
    amount: Decimal
    currency: str
    detail: str


class SandboxPaymentProvider:
    """Authorize, capture and void against a ledger table; idempotent on every key.

    Declines (token ``tok_declined`` or an amount over ``decline_over``) are
    answers, not errors. Raises ``PaymentRejected`` for operations that can never
    succeed: capturing more than remains, unknown or declined authorizations,
    currency mismatches, a key reused for another kind of operation, or replayed with
    another amount, currency, order or authorization; ``AuthorizationExpired`` for a
    capture on an authorization older than ``authorization_valid_s``.
    """

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxPaymentProvider:
        """The provider ``make run`` and the tests use, configured by ``OMS_PAYMENTS_*``."""
        create_ledger_database(settings)
        return cls(
            ledger_database(ledger_url(settings)),
            Decimal(settings.payments_decline_over),
            refund_unavailable_attempts=settings.payments_refund_unavailable_attempts,
            refund_decline_over=Decimal(settings.payments_refund_decline_over),
            authorization_valid_s=settings.payment_authorization_valid_s,
        )

    def __init__(
        self,
        db: Database,
        decline_over: Decimal,
        *,
        refund_unavailable_attempts: int = 0,
        refund_decline_over: Decimal | None = None,
        authorization_valid_s: float | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``authorization_valid_s``: how long an authorization can be captured on (None:
        for ever); ``clock``: the sandbox's idea of now (tests move it)."""
        self._db = db
        # The sandbox's own table, in whatever database it was given: no OMS migration knows it.
        LedgerBase.metadata.create_all(db.engine)
        self._decline_over = decline_over
        self._refund_unavailable_attempts = refund_unavailable_attempts
        self._refund_decline_over = refund_decline_over
        self._refund_attempts: dict[str, int] = {}
        self._valid = (
            None if authorization_valid_s is None else timedelta(seconds=authorization_valid_s)
        )
        self._clock = clock

    def authorize(self, request: AuthorizeRequest) -> Authorization:
        existing = self._existing(request.idempotency_key, "authorize")
        if existing is not None:
            _same(existing, request.amount, request.currency, order_id=request.order_id)
            return _authorization(existing)
        reason = None
        if request.token == DECLINED_TOKEN:
            reason = "card_declined"
        elif request.amount > self._decline_over:
            reason = "amount_over_limit"
        row = LedgerRow(
            idempotency_key=request.idempotency_key,
            kind="authorize",
            authorization_id=f"auth_{uuid.uuid4().hex[:20]}",
            order_id=request.order_id,
            created_at=self._clock(),
            status="declined" if reason else "authorized",
            amount=request.amount,
            currency=request.currency,
            detail=reason or "",
        )
        return _authorization(self._insert(request.idempotency_key, "authorize", lambda _s: row))

    def capture(self, request: CaptureRequest) -> Capture:
        existing = self._existing(request.idempotency_key, "capture")
        if existing is not None:
            _same(existing, request.amount, request.currency, auth=request.authorization_id)
            return _capture(existing)
        if request.amount < 0:
            raise PaymentRejected(f"capture amount must not be negative, got {request.amount}")

        def build(session: Session) -> LedgerRow:
            auth = self._open_authorization(session, request.authorization_id, request.currency)
            self._check_not_expired(auth)
            # Holding the authorization's lock: a concurrent call with this key may have won.
            if (done := _find(session, request.idempotency_key, "capture")) is not None:
                _same(done, request.amount, request.currency, auth=request.authorization_id)
                return done
            remaining = auth.amount - _settled(session, auth.authorization_id)
            if request.amount > remaining:
                raise PaymentRejected(
                    f"capture of {request.amount} exceeds the {remaining} left on "
                    f"{auth.authorization_id} (authorized {auth.amount})"
                )
            return _tx_for(auth, request.idempotency_key, "capture", request.amount)

        return _capture(self._insert(request.idempotency_key, "capture", build))

    def void(self, request: VoidAuthorizationRequest) -> VoidAuthorizationResult:
        existing = self._existing(request.idempotency_key, "void")
        if existing is not None:
            _same(existing, None, None, auth=request.authorization_id)
            return _void_result(existing)

        def build(session: Session) -> LedgerRow:
            auth = self._authorization_row(session, request.authorization_id)
            if (done := _find(session, request.idempotency_key, "void")) is not None:
                return done
            if auth.status != "authorized":
                return _tx_for(auth, request.idempotency_key, "void", Decimal("0.00"))
            remaining = max(auth.amount - _settled(session, auth.authorization_id), Decimal(0))
            if request.amount is not None:  # a partial release: never more than is left
                remaining = min(remaining, max(request.amount, Decimal(0)))
            return _tx_for(auth, request.idempotency_key, "void", remaining)

        return _void_result(self._insert(request.idempotency_key, "void", build))

    def refund(self, request: RefundRequest) -> Refund:
        """Give back ``request.amount`` of what was captured for the order; once per key.

        Raises ``RefundDeclined`` when the order has no captured payment, the
        amount exceeds captured minus already refunded, or the provider
        declines it; ``PaymentUnavailable`` when the provider is down.
        """
        existing = self._existing(request.idempotency_key, "refund")
        if existing is not None:
            _same(existing, request.amount, request.currency, order_id=request.order_id)
            return _refund(existing)
        attempts = self._refund_attempts.get(request.idempotency_key, 0) + 1
        self._refund_attempts[request.idempotency_key] = attempts
        if attempts <= self._refund_unavailable_attempts:
            raise PaymentUnavailable(f"sandbox provider down (attempt {attempts})")
        if request.amount <= 0:
            raise PaymentRejected(f"refund amount must be positive, got {request.amount}")

        def build(session: Session) -> LedgerRow:
            auths = list(
                session.scalars(
                    select(LedgerRow)
                    .where(LedgerRow.order_id == request.order_id, LedgerRow.kind == "authorize")
                    .order_by(LedgerRow.id)
                    .with_for_update()
                )
            )
            if (done := _find(session, request.idempotency_key, "refund")) is not None:
                _same(done, request.amount, request.currency, order_id=request.order_id)
                return done
            captured = _order_total(session, request.order_id, "capture")
            refunded = _order_total(session, request.order_id, "refund")
            paid = [a for a in auths if a.status == "authorized"]
            if not paid or captured <= 0:
                raise RefundDeclined(f"order {request.order_id} has no captured card payment")
            if paid[-1].currency != request.currency:
                raise RefundDeclined(f"payment is in {paid[-1].currency}, not {request.currency}")
            if request.amount > captured - refunded:
                raise RefundDeclined(
                    f"refund of {request.amount} exceeds the {captured - refunded} left to refund "
                    f"on order {request.order_id} (captured {captured}, refunded {refunded})"
                )
            if self._refund_decline_over is not None and request.amount > self._refund_decline_over:
                raise RefundDeclined(f"refund of {request.amount} declined by the provider")
            row = _tx_for(paid[-1], request.idempotency_key, "refund", request.amount)
            row.detail = request.reason[:500]
            return row

        return _refund(self._insert(request.idempotency_key, "refund", build))

    def close(self) -> None:
        """Release the ledger's connections (the provider is unusable after)."""
        self._db.dispose()

    def ledger(self, order_id: str) -> list[LedgerEntry]:
        """Every transaction of an order, oldest first (for tests and operations)."""
        with self._db.session() as session:
            rows = session.scalars(
                select(LedgerRow).where(LedgerRow.order_id == order_id).order_by(LedgerRow.id)
            )
            return [
                LedgerEntry(
                    kind=r.kind,
                    idempotency_key=r.idempotency_key,
                    authorization_id=r.authorization_id,
                    status=r.status,
                    amount=r.amount,
                    currency=r.currency,
                    detail=r.detail,
                )
                for r in rows
            ]

    def _existing(self, key: str, kind: str) -> LedgerRow | None:
        with self._db.session() as session:
            return _find(session, key, kind)

    def _insert(self, key: str, kind: str, build: Callable[[Session], LedgerRow]) -> LedgerRow:
        """Insert the row ``build`` makes; "already applied" returns the first row instead."""
        try:
            with self._db.session() as session:
                row = build(session)
                session.add(row)  # a no-op when build found the row already recorded
                session.flush()
                return row
        except IntegrityError:
            # A concurrent call with the same key won the race: its row is the answer.
            existing = self._existing(key, kind)
            if existing is None:
                raise
            return existing

    def _check_not_expired(self, auth: LedgerRow) -> None:
        if self._valid is None:
            return
        made = auth.created_at if auth.created_at.tzinfo else auth.created_at.replace(tzinfo=UTC)
        age = self._clock() - made
        if age > self._valid:
            raise AuthorizationExpired(
                f"authorization {auth.authorization_id} expired: made {made.isoformat()}, "
                f"{int(age.total_seconds())} s ago, valid for {int(self._valid.total_seconds())} s"
            )

    def _authorization_row(self, session: Session, authorization_id: str) -> LedgerRow:
        stmt = (
            select(LedgerRow)
            .where(LedgerRow.authorization_id == authorization_id, LedgerRow.kind == "authorize")
            .with_for_update()
        )
        auth = session.scalars(stmt).one_or_none()
        if auth is None:
            raise PaymentRejected(f"unknown authorization {authorization_id}")
        return auth

    def _open_authorization(
        self, session: Session, authorization_id: str, currency: str
    ) -> LedgerRow:
        auth = self._authorization_row(session, authorization_id)
        if auth.status != "authorized":
            raise PaymentRejected(f"authorization {authorization_id} is {auth.status}")
        if auth.currency != currency:
            raise PaymentRejected(f"authorization is in {auth.currency}, not {currency}")
        return auth


def _find(session: Session, key: str, kind: str) -> LedgerRow | None:
    """The transaction recorded under ``key``; PaymentRejected if it is of another kind."""
    row = session.scalars(select(LedgerRow).where(LedgerRow.idempotency_key == key)).one_or_none()
    if row is not None and row.kind != kind:
        raise PaymentRejected(f"idempotency key {key!r} was used for a {row.kind}")
    return row


def _same(
    row: LedgerRow,
    amount: Decimal | None,
    currency: str | None,
    *,
    order_id: str | None = None,
    auth: str | None = None,
) -> None:
    """A replay must ask for what the key's first call asked for; PaymentRejected if not.

    Returning the first answer to a request for another amount, currency, order or
    authorization would confirm money that was never asked for (goods shipped on an old
    authorization, say): a key is one operation, for good.
    """
    mismatches = [
        what
        for what, first, now in (
            ("amount", row.amount, amount),
            ("currency", row.currency, currency),
            ("order", row.order_id, order_id),
            ("authorization", row.authorization_id, auth),
        )
        if now is not None and first != now
    ]
    if mismatches:
        raise PaymentRejected(
            f"idempotency key {row.idempotency_key!r} was used for another "
            f"{' and '.join(mismatches)}; use a new key"
        )


def _settled(session: Session, authorization_id: str) -> Decimal:
    """Amount already captured or voided on an authorization."""
    stmt = select(func.coalesce(func.sum(LedgerRow.amount), 0)).where(
        LedgerRow.authorization_id == authorization_id, LedgerRow.kind.in_(("capture", "void"))
    )
    return Decimal(session.scalar(stmt) or 0)


def _order_total(session: Session, order_id: str, kind: str) -> Decimal:
    """Sum of an order's transactions of one kind (captures, refunds)."""
    stmt = select(func.coalesce(func.sum(LedgerRow.amount), 0)).where(
        LedgerRow.order_id == order_id, LedgerRow.kind == kind
    )
    return Decimal(session.scalar(stmt) or 0)


def _tx_for(auth: LedgerRow, key: str, kind: str, amount: Decimal) -> LedgerRow:
    return LedgerRow(
        idempotency_key=key,
        kind=kind,
        authorization_id=auth.authorization_id,
        order_id=auth.order_id,
        status="succeeded",
        amount=amount,
        currency=auth.currency,
        detail="",
    )


def _authorization(row: LedgerRow) -> Authorization:
    return Authorization(
        authorization_id=row.authorization_id,
        status="declined" if row.status == "declined" else "authorized",
        amount=row.amount,
        currency=row.currency,
        decline_reason=row.detail or None,
    )


def _capture(row: LedgerRow) -> Capture:
    return Capture(
        capture_id=f"cap_{row.id}",
        authorization_id=row.authorization_id,
        amount=row.amount,
        currency=row.currency,
    )


def _void_result(row: LedgerRow) -> VoidAuthorizationResult:
    return VoidAuthorizationResult(authorization_id=row.authorization_id, voided_amount=row.amount)


def _refund(row: LedgerRow) -> Refund:
    return Refund(
        refund_id=f"ref_{row.id}", order_id=row.order_id, amount=row.amount, currency=row.currency
    )
