"""Refunds of an order without a return: one row per order and request key.

The row is claimed before the provider is asked, so a key is refunded at most once
(the provider's idempotency key is derived from it too); the refund workflow records the
provider's answer on it. The API shows the rows in the order's view and history.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from oms.models.common import HistoryEntry
from oms.models.money import TaxLine
from oms.models.orders import OrderRefund, OrderView
from oms.store.db import Bound, as_utc, get_or_insert
from oms.store.tables import OrderRefundRow


class RefundKeyReused(Exception):
    """The request key was used for another refund of the order (another amount or reason)."""


def claim(
    session: Session,
    order_id: str,
    key: str,
    amount: Decimal,
    currency: str,
    reason: str,
    requested_by: str,
    now: datetime,
    tax: list[TaxLine] | None = None,
) -> OrderRefund:
    """The refund under ``key``, claimed now as ``pending`` if the key is new, with its net
    and VAT per rate (``tax``, oms.domain.tax.refund_tax; None: not split).

    Raises ``RefundKeyReused`` when ``key`` holds a refund of another amount or reason.
    """
    row, claimed = get_or_insert(
        session,
        OrderRefundRow,
        (order_id, key),
        lambda: OrderRefundRow(
            order_id=order_id,
            key=key,
            amount=amount,
            currency=currency,
            reason=reason,
            requested_by=requested_by,
            status="pending",
            requested_at=now,
            updated_at=now,
            tax=None if tax is None else [line.model_dump(mode="json") for line in tax],
        ),
    )
    if not claimed and (row.amount != amount or row.reason != reason):
        raise RefundKeyReused(
            f"key {key!r} already refunded {row.amount} {row.currency} "
            f"({row.reason!r}) on order {order_id}"
        )
    return _refund(row)


def finish(
    session: Session,
    order_id: str,
    key: str,
    refund_id: str | None,
    error: str | None,
    now: datetime,
) -> OrderRefund:
    """Record the provider's answer: refunded as ``refund_id``, or declined for ``error``.

    Raises ``LookupError`` when no refund was claimed under ``key``.
    """
    row = session.get(OrderRefundRow, (order_id, key), with_for_update=True)
    if row is None:
        raise LookupError(f"no refund {key!r} on order {order_id}")
    if row.status == "pending":
        row.status = "refunded" if refund_id else "declined"
        row.refund_id, row.error, row.updated_at = refund_id, error, now
    return _refund(row)


def for_order(session: Session, order_id: str) -> list[OrderRefund]:
    """The order's refunds without a return, oldest first."""
    rows = session.scalars(
        select(OrderRefundRow)
        .where(OrderRefundRow.order_id == order_id)
        .order_by(OrderRefundRow.requested_at, OrderRefundRow.key)
    )
    return [_refund(row) for row in rows]


def show_on(view: OrderView, refunds: list[OrderRefund]) -> None:
    """Put ``refunds`` on the order's view, with a history line for each provider answer:
    under the status the order had then (a refund declined while it was partly shipped
    read as one of the completed order). A declined refund shows no net and VAT split:
    no money moved."""
    view.refunds = [
        r if r.status != "declined" else r.model_copy(update={"tax": [], "net": None})
        for r in refunds
    ]
    lines = [
        HistoryEntry(
            at=r.updated_at,
            status=_status_at(view, r.updated_at),
            note=(
                f"Refunded {r.amount} {r.currency} ({r.refund_id}): {r.reason}"
                if r.status == "refunded"
                else f"Refund of {r.amount} {r.currency} declined: {r.error}"
            ),
            by=r.requested_by,
            action="refund",
        )
        for r in refunds
        if r.status != "pending"
    ]
    if lines:
        view.history = sorted([*view.history, *lines], key=lambda h: h.at)


def _status_at(view: OrderView, moment: datetime) -> str:
    """The order's status at ``moment``: its last history entry's then (its first before
    any; its current one without a history)."""
    status = str(view.history[0].status) if view.history else str(view.status)
    for entry in view.history:
        if as_utc(entry.at) > as_utc(moment):
            break
        status = str(entry.status)
    return status


def _refund(row: OrderRefundRow) -> OrderRefund:
    tax = [TaxLine.model_validate(line) for line in row.tax or []]
    return OrderRefund(
        order_id=row.order_id,
        key=row.key,
        amount=row.amount,
        currency=row.currency,
        reason=row.reason,
        requested_by=row.requested_by,
        status=row.status,
        refund_id=row.refund_id,
        error=row.error,
        requested_at=row.requested_at,
        updated_at=row.updated_at,
        tax=tax,
        net=row.amount - sum((t.tax for t in tax), Decimal(0)) if tax else None,
    )


class RefundStore(Bound):
    """Refunds without a return as the refund activity records them."""

    def finish(
        self, order_id: str, key: str, refund_id: str | None, error: str | None, now: datetime
    ) -> OrderRefund:
        """``finish`` in a transaction of its own."""
        return self._tx(lambda s: finish(s, order_id, key, refund_id, error, now))
