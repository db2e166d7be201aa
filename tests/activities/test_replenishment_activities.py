"""Replenishment activities: the supplier email (real outbox and SMTP), the low-stock hook."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from temporalio.testing import ActivityEnvironment

from activities.adapters.email_smtp import SmtpMailer
from activities.adapters.supplier_email import EmailSupplier
from activities.inventory import InventoryActivities
from activities.notifications import EmailActivities
from activities.replenishment import LowStock, ReplenishmentActivities
from activities.suppliers import SupplierActivities
from devtools.demo.catalogue import seed_demo
from oms.models.common import SkuQuantity
from oms.models.inventory import AllocateRequest
from oms.models.replenishment import (
    Episode,
    PurchaseOrderRequest,
    ScanRequest,
    SupplierMessage,
)
from oms.store.db import Database
from oms.store.inventory import StockStore
from oms.store.outbox import Outbox
from oms.store.replenishment import ReplenishmentStore

from smtp_fixtures import SmtpRecorder, smtp_recorder_fixture

smtp_recorder = smtp_recorder_fixture()
JACKET = "JACKET-WOOL-M"


def seeded(db: Database) -> Database:
    with db.session() as session:
        seed_demo(session)
    return db


def allocate_request(order_id: str, qty: int) -> AllocateRequest:
    return AllocateRequest(
        key=f"{order_id}:allocate:1",
        order_id=order_id,
        lines=[SkuQuantity(sku=JACKET, quantity=qty)],
        postal_code="111 21",
        city="Stockholm",
        country="SE",
        placed_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


class RecordingStarter:
    """Stands in for the Temporal client in these unit tests: records what it would start."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.started: list[Episode] = []

    def start(self, episode: Episode) -> str:
        if self.fail:
            raise ConnectionError("Temporal is down")
        self.started.append(episode)
        return f"replenish-{episode.warehouse_id}-{episode.sku}-{episode.n}"


def test_purchase_order_reaches_the_supplier_once_with_its_csv(
    db: Database, smtp_recorder: SmtpRecorder
) -> None:
    seeded(db)
    env = ActivityEnvironment()
    hook = LowStock(ReplenishmentStore(db), RecordingStarter())
    env.run(InventoryActivities(StockStore(db), hook).allocate, allocate_request("O-1", 1))
    po = env.run(
        ReplenishmentActivities(ReplenishmentStore(db)).purchase_order,
        PurchaseOrderRequest(po_id=f"PO-WH-STO-{JACKET}-1", warehouse_id="WH-STO", sku=JACKET, n=1),
    )
    mailer = SmtpMailer("127.0.0.1", smtp_recorder.port, "orders@oms.example", timeout=5)
    supplier = SupplierActivities(
        EmailSupplier(EmailActivities(mailer, Outbox(db)).send, "Temporal OMS")
    )
    message = SupplierMessage(key=f"{po.po_id}:purchase-order", kind="purchase_order", po=po)

    first = env.run(supplier.send, message)
    second = env.run(supplier.send, message)

    assert (first.channel, first.already_sent, second.already_sent) == ("email", False, True)
    [mail] = smtp_recorder.messages
    assert mail.to == "po@woolworks.example"
    assert po.po_id in mail.subject and "Temporal OMS" in mail.subject
    [attachment] = list(mail.message.iter_attachments())
    rows = list(csv.DictReader(io.StringIO(attachment.get_content())))
    assert [(r["sku"], r["quantity"], r["unit_cost"]) for r in rows] == [(JACKET, "10", "820.00")]


def test_a_reservation_to_the_reorder_point_opens_one_episode_and_starts_it_once(
    db: Database,
) -> None:
    seeded(db)
    starter = RecordingStarter()
    acts = InventoryActivities(StockStore(db), LowStock(ReplenishmentStore(db), starter))
    env = ActivityEnvironment()

    env.run(acts.allocate, allocate_request("O-1", 1))  # the last Stockholm jacket
    env.run(acts.allocate, allocate_request("O-1", 1))  # a retry of the same allocation
    env.run(acts.allocate, allocate_request("O-2", 3))  # backorders: same episode

    assert [(e.warehouse_id, e.sku, e.n, e.available) for e in starter.started] == [
        ("WH-STO", JACKET, 1, 0)
    ]


def test_a_failing_start_never_fails_the_reservation_and_the_scan_starts_it_later(
    db: Database,
) -> None:
    seeded(db)
    down = RecordingStarter(fail=True)
    env = ActivityEnvironment()
    decision = env.run(
        InventoryActivities(StockStore(db), LowStock(ReplenishmentStore(db), down)).allocate,
        allocate_request("O-1", 1),
    )
    assert [s.warehouse_id for s in decision.shipments] == ["WH-STO"]

    up = RecordingStarter()
    scanned = env.run(
        ReplenishmentActivities(ReplenishmentStore(db), LowStock(ReplenishmentStore(db), up)).scan,
        ScanRequest(),
    )
    assert scanned.workflow_ids == [f"replenish-WH-STO-{JACKET}-1"]
