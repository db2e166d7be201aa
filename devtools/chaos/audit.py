"""Count every side effect of a scenario per business key, and check the stock ledger.

Effects are counted where they land, not where the OMS says they went:

- reservations: ``reservations`` rows per (order, SKU) in the store;
- labels: the sandbox carrier's own label store (what the carrier billed), per shipment;
- captures and refunds: the sandbox payment provider's own ledger (``sandboxes/payments.py``),
  captures per shipment and refunds per (return, SKU);
- emails: the SMTP sink's index (what the mail server received), per ``X-OMS-Key``. Email
  is at-least-once: a key received again with its own ``Message-ID`` is a retry the
  receiver can recognise, counted as ``resent`` and reported, not a failure; a repeat
  with any other ``Message-ID`` is a duplicate.

The stock ledger, per (warehouse, SKU) touched: received = on hand + shipped, where
received is the on-hand level when the scenario started plus units restocked from
returns, shipped is the sum of consumed reservations, and written-off units count as
shipped out of the building. The reserved counter must equal the open reservations.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select

from oms.ports.email import message_id_for
from oms.store.db import Database
from oms.store.tables import (
    ReservationRow,
    ShipmentRow,
    StockMovementRow,
    StockRow,
)
from sandboxes.payments import LedgerRow

StockKey = tuple[str, str]


class EffectCount(BaseModel):
    """One kind of side effect: business keys expected, effects counted, and what went wrong."""

    expected: int = 0
    counted: int = 0
    duplicated: int = 0  # business keys that took effect more than once
    missing: int = 0  # business keys expected that never took effect
    # Emails only: extra copies of a key that carried the key's own Message-ID (a retry
    # after the server accepted and before the outbox recorded it; reported, allowed).
    resent: int = 0
    examples: list[str] = []  # a few of the keys duplicated, resent or missing

    @property
    def ok(self) -> bool:
        return self.duplicated == 0 and self.missing == 0


class LedgerCheck(BaseModel):
    skus: int = 0
    received: int = 0
    on_hand: int = 0
    shipped: int = 0
    written_off: int = 0
    unbalanced: list[str] = []
    reserved_drift: list[str] = []  # stock.reserved != sum of open reservations

    @property
    def balanced(self) -> bool:
        return not self.unbalanced and not self.reserved_drift


def count(expected: Iterable[str], seen: Iterable[str]) -> EffectCount:
    """Compare business keys expected once each with the keys seen (one per effect)."""
    wanted = set(expected)
    per_key = Counter(k for k in seen if k in wanted)
    doubled = sorted(k for k, n in per_key.items() if n > 1)
    absent = sorted(wanted - set(per_key))
    return EffectCount(
        expected=len(wanted),
        counted=sum(per_key.values()),
        duplicated=len(doubled),
        missing=len(absent),
        examples=[f"{k} x{per_key[k]}" for k in doubled[:3]] + [f"{k} x0" for k in absent[:3]],
    )


def count_emails(expected: Iterable[str], received: Iterable[tuple[str, str]]) -> EffectCount:
    """``count`` for emails received as (``X-OMS-Key``, ``Message-ID``): a key received
    more than once, every copy with ``message_id_for(key)``, counts its extra copies as
    ``resent`` instead of ``duplicated``. Other keys received more than once, and not
    expected (alerts, returns), are judged the same way."""
    copies: dict[str, list[str]] = {}
    for key, message_id in received:
        copies.setdefault(key, []).append(message_id)
    wanted = set(expected)
    out = count(wanted, [k for k, ids in copies.items() if k in wanted for _ in ids])
    out.duplicated, out.examples = 0, [e for e in out.examples if e.endswith(" x0")]
    for key, ids in sorted(copies.items()):
        if len(ids) < 2:
            continue
        if set(ids) == {message_id_for(key)}:
            out.resent += len(ids) - 1
            out.examples.append(f"{key} resent x{len(ids)}")
        else:
            out.duplicated += 1
            out.examples.append(f"{key} x{len(ids)} {sorted(set(ids))}")
    out.examples = out.examples[:6]
    return out


def stock_snapshot(db: Database) -> dict[StockKey, int]:
    """On-hand per (warehouse, SKU) now: the 'received' baseline of a scenario."""
    with db.session() as session:
        return {(r.warehouse_id, r.sku): r.on_hand for r in session.scalars(select(StockRow))}


class Auditor:
    """Reads the store, the carrier's label store and the SMTP sink's index after a run."""

    def __init__(self, db: Database, payments: Database, carrier_db: Path, mail_dir: Path) -> None:
        self.db, self.payments, self.carrier_db, self.mail_dir = db, payments, carrier_db, mail_dir

    def effects(
        self,
        lines: dict[str, list[tuple[str, int, str]]],
        returns: dict[str, tuple[str, int]],
    ) -> dict[str, EffectCount]:
        """Every effect of the orders ``order id -> lines (sku, qty, price)`` and of the
        returns ``rma id -> (sku, qty)`` counted against what each should have caused."""
        order_ids = list(lines)
        ids = set(order_ids)
        with self.db.session() as session:
            reservations = [
                r
                for r in session.scalars(select(ReservationRow))
                if r.order_id in ids and r.backorder_id is None
            ]
            shipments = [
                (s.order_id, s.shipment_id)
                for s in session.scalars(select(ShipmentRow))
                if s.order_id in ids
            ]
        with self.payments.session() as session:
            ledger = [
                (t.kind, t.idempotency_key, t.status)
                for t in session.scalars(select(LedgerRow))
                if t.order_id in ids
            ]
        shipment_ids = [s for _, s in shipments]
        out = {
            # One reservation per order line: a second row for the same line double-books.
            "reservations": count(
                [f"{o}:{line[0]}" for o, order_lines in lines.items() for line in order_lines],
                [f"{r.order_id}:{r.sku}" for r in reservations],
            ),
            "labels": count(shipment_ids, self._carrier_labels()),
            "captures": count(
                [f"{s}:capture" for s in shipment_ids],
                [k for kind, k, status in ledger if kind == "capture" and status != "failed"],
            ),
            "refunds": count(
                [f"{rma}:refund:{sku}" for rma, (sku, _) in returns.items()],
                [k for kind, k, status in ledger if kind == "refund" and status != "failed"],
            ),
        }
        emails = (
            [f"{o}:confirmed" for o in order_ids]
            + [f"{o}:completed" for o in order_ids]
            + [f"{s}:shipped" for s in shipment_ids]
            + [f"{s}:delivered" for s in shipment_ids]
        )
        # Any other message about these orders (returns, alerts) is judged the same way.
        expected = set(emails)
        mine = [
            (k, m)
            for k, m in self._mail()
            if k in expected or k.split(":")[0] in ids or k.split(":")[0] in returns
        ]
        out["emails"] = count_emails(emails, mine)
        return out

    def ledger(self, before: dict[StockKey, int]) -> LedgerCheck:
        """Check received = on hand + shipped (+ written off) for every (warehouse, SKU)."""
        check = LedgerCheck()
        with self.db.session() as session:
            stock = {(r.warehouse_id, r.sku): r for r in session.scalars(select(StockRow))}
            reservations = list(session.scalars(select(ReservationRow)))
            movements = list(session.scalars(select(StockMovementRow)))
        shipped: Counter[StockKey] = Counter()
        open_reserved: Counter[StockKey] = Counter()
        for r in reservations:
            if r.status == "consumed":
                shipped[(r.warehouse_id, r.sku)] += r.quantity
            elif r.status == "open":
                open_reserved[(r.warehouse_id, r.sku)] += r.quantity
        restocked: Counter[StockKey] = Counter()
        written_off: Counter[StockKey] = Counter()
        for m in movements:
            # A person's count (adjust, signed) changes what the warehouse received.
            target = restocked if m.kind in ("restock", "adjust") else written_off
            target[(m.warehouse_id, m.sku)] += m.quantity
        for key, row in sorted(stock.items()):
            received = before.get(key, 0) + restocked[key]
            out = row.on_hand + shipped[key] + written_off[key]
            check.skus += 1
            check.received += received
            check.on_hand += row.on_hand
            check.shipped += shipped[key]
            check.written_off += written_off[key]
            if received != out:
                check.unbalanced.append(f"{key[0]}/{key[1]}: received {received} != {out}")
            if row.reserved != open_reserved[key]:
                check.reserved_drift.append(
                    f"{key[0]}/{key[1]}: reserved {row.reserved} != open {open_reserved[key]}"
                )
        return check

    def captured_and_refunded(self, order_ids: list[str]) -> tuple[Decimal, Decimal]:
        ids = set(order_ids)
        with self.payments.session() as session:
            rows = [t for t in session.scalars(select(LedgerRow)) if t.order_id in ids]
        captured = sum((t.amount for t in rows if t.kind == "capture"), Decimal(0))
        refunded = sum((t.amount for t in rows if t.kind == "refund"), Decimal(0))
        return captured, refunded

    def _carrier_labels(self) -> list[str]:
        """Shipment id of every outbound label the carrier sold (return labels excluded)."""
        if not self.carrier_db.exists():
            return []
        with sqlite3.connect(self.carrier_db) as conn:
            rows = conn.execute(
                "SELECT shipment_id FROM labels WHERE tracking_number NOT LIKE 'SBR%'"
            ).fetchall()
        return [str(r[0]) for r in rows]

    def _mail(self) -> list[tuple[str, str]]:
        """(``X-OMS-Key``, ``Message-ID``) of every message the SMTP sink received."""
        index = self.mail_dir / "index.txt"
        if not index.exists():
            return []
        received = []
        for line in index.read_text(encoding="utf-8").splitlines():
            fields = line.split("\t")
            if len(fields) >= 7:
                received.append((fields[4], fields[6]))
        return received
