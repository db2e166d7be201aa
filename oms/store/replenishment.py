"""Suppliers, reorder policies, low-stock episodes and purchase orders.

Every function runs inside the caller's transaction (``Database.session()``).
An episode is opened at most once per low-stock spell: the stock row is
locked first (the same lock order as ``oms.store.inventory``), and the partial
unique index ``uq_replenishments_one_open`` settles any race that remains.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oms.domain.events import PURCHASE_ORDER_RECEIVED, PURCHASE_ORDER_SENT, STOCK_LOW
from oms.domain.replenishment import (
    below_reorder_point,
    order_quantity,
    purchase_order_id,
    replenishment_workflow_id,
)
from oms.models.common import Page
from oms.models.replenishment import (
    CloseEpisode,
    CloseResult,
    Episode,
    GoodsReceiptRequest,
    GoodsReceiptResult,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderRequest,
    RecordConfirmation,
    ReorderPolicy,
    ReorderPolicyIn,
    ReplenishmentSummary,
    Supplier,
    SupplierIn,
)
from oms.store import inventory, paging
from oms.store.db import Bound, get_or_insert, in_transaction, locked
from oms.store.errors import (
    NoSupplier,
    OverDelivery,
    UnknownPurchaseOrder,
    UnknownSku,
    UnknownSupplier,
    UnknownWarehouse,
)
from oms.store.events import emit
from oms.store.tables import (
    GoodsReceiptRow,
    ProductRow,
    ProductSupplierRow,
    PurchaseOrderLineRow,
    PurchaseOrderRow,
    ReorderPolicyRow,
    ReplenishmentRow,
    StockRow,
    SupplierRow,
    WarehouseRow,
)

OPEN = "open"
CLOSED = "closed"


# --- suppliers and policies -------------------------------------------------------------------


def upsert_supplier(session: Session, supplier_id: str, body: SupplierIn) -> Supplier:
    """Create or replace supplier ``supplier_id``."""
    row = session.get(SupplierRow, supplier_id)
    if row is None:
        row = SupplierRow(supplier_id=supplier_id)
        session.add(row)
    row.name, row.email, row.lead_time_days = body.name, str(body.email), body.lead_time_days
    session.flush()
    return _supplier(row)


def list_suppliers(
    session: Session, limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None
) -> Page[Supplier]:
    """Suppliers by name. Raises ``InvalidCursor`` for a foreign cursor."""
    keys = [(SupplierRow.name, False), (SupplierRow.supplier_id, False)]
    return paging.page(session, select(SupplierRow), keys, _supplier, cursor=cursor, limit=limit)


def link_supplier(
    session: Session, sku: str, supplier_id: str, unit_cost: Decimal | None = None
) -> None:
    """Buy ``sku`` from ``supplier_id`` from now on. Raises ``UnknownSku``, ``UnknownSupplier``."""
    if session.get(ProductRow, sku) is None:
        raise UnknownSku(f"unknown SKU {sku!r}")
    if session.get(SupplierRow, supplier_id) is None:
        raise UnknownSupplier(f"unknown supplier {supplier_id!r}")
    row = session.get(ProductSupplierRow, sku)
    if row is None:
        row = ProductSupplierRow(sku=sku, supplier_id=supplier_id, unit_cost=Decimal("0.00"))
        session.add(row)
    row.supplier_id = supplier_id
    if unit_cost is not None:
        row.unit_cost = unit_cost
    session.flush()


def set_policy(
    session: Session, warehouse_id: str, sku: str, body: ReorderPolicyIn
) -> ReorderPolicy:
    """Create or replace the reorder policy of ``sku`` in ``warehouse_id``.

    Raises ``UnknownWarehouse``, ``UnknownSku`` or (for ``body.supplier_id``) ``UnknownSupplier``.
    """
    if session.get(WarehouseRow, warehouse_id) is None:
        raise UnknownWarehouse(f"unknown warehouse {warehouse_id!r}")
    if session.get(ProductRow, sku) is None:
        raise UnknownSku(f"unknown SKU {sku!r}")
    if body.supplier_id is not None:
        link_supplier(session, sku, body.supplier_id)
    # A policy a concurrent PUT created first is overwritten below.
    row, _ = get_or_insert(
        session,
        ReorderPolicyRow,
        (warehouse_id, sku),
        lambda: ReorderPolicyRow(
            warehouse_id=warehouse_id,
            sku=sku,
            reorder_point=body.reorder_point,
            reorder_qty=body.reorder_qty,
        ),
    )
    row.reorder_point, row.reorder_qty = body.reorder_point, body.reorder_qty
    session.flush()
    policy = get_policy(session, warehouse_id, sku)
    assert policy is not None
    return policy


def get_policy(session: Session, warehouse_id: str, sku: str) -> ReorderPolicy | None:
    row = session.get(ReorderPolicyRow, (warehouse_id, sku))
    if row is None:
        return None
    link = session.get(ProductSupplierRow, sku)
    stock = session.get(StockRow, (warehouse_id, sku))
    return ReorderPolicy(
        warehouse_id=warehouse_id,
        sku=sku,
        reorder_point=row.reorder_point,
        reorder_qty=row.reorder_qty,
        supplier_id=None if link is None else link.supplier_id,
        available=0 if stock is None else stock.on_hand - stock.reserved,
    )


# --- detection --------------------------------------------------------------------------------


def low_stock(session: Session, skus: Collection[str] | None = None) -> list[tuple[str, str]]:
    """``(warehouse, sku)`` pairs with a policy whose available units are at or below its point.

    ``skus`` narrows the check (the SKUs an allocation just touched); ``None`` checks all.
    """
    query = (
        select(ReorderPolicyRow, StockRow)
        .outerjoin(
            StockRow,
            (StockRow.warehouse_id == ReorderPolicyRow.warehouse_id)
            & (StockRow.sku == ReorderPolicyRow.sku),
        )
        .order_by(ReorderPolicyRow.warehouse_id, ReorderPolicyRow.sku)
    )
    if skus is not None:
        if not skus:
            return []
        query = query.where(ReorderPolicyRow.sku.in_(set(skus)))
    due = []
    for policy, stock in session.execute(query).tuples():
        on_hand, reserved = (0, 0) if stock is None else (stock.on_hand, stock.reserved)
        if below_reorder_point(on_hand, reserved, policy.reorder_point):
            due.append((policy.warehouse_id, policy.sku))
    return due


def open_episode(session: Session, warehouse_id: str, sku: str) -> Episode | None:
    """The open episode of ``sku`` in ``warehouse_id``, opened now if the SKU is low.

    ``None`` when there is no policy or the SKU is above its point (and no
    episode is open). Safe to call concurrently: one episode is opened.
    """
    # The stock row's lock serializes callers for this SKU and warehouse (PostgreSQL).
    stock = session.scalar(
        locked(select(StockRow).where(StockRow.warehouse_id == warehouse_id, StockRow.sku == sku))
    )
    existing = _open_row(session, warehouse_id, sku)
    if existing is not None:
        return _episode(existing, opened=False)
    policy = session.get(ReorderPolicyRow, (warehouse_id, sku))
    if policy is None:
        return None
    on_hand, reserved = (0, 0) if stock is None else (stock.on_hand, stock.reserved)
    if not below_reorder_point(on_hand, reserved, policy.reorder_point):
        return None
    last = session.scalar(
        select(func.max(ReplenishmentRow.n)).where(
            ReplenishmentRow.warehouse_id == warehouse_id, ReplenishmentRow.sku == sku
        )
    )
    row = ReplenishmentRow(
        warehouse_id=warehouse_id,
        sku=sku,
        n=(last or 0) + 1,
        status=OPEN,
        available_at_open=on_hand - reserved,
        reorder_point=policy.reorder_point,
        opened_at=datetime.now(UTC),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another transaction opened it first (the unique indexes said so): use theirs.
        existing = _open_row(session, warehouse_id, sku)
        if existing is None:
            raise
        return _episode(existing, opened=False)
    _emit(session, STOCK_LOW, row, row.opened_at)
    return _episode(row, opened=True)


def close_episode(session: Session, req: CloseEpisode) -> CloseResult:
    """Close episode ``n``; closing a closed one changes nothing.

    Raises ``UnknownPurchaseOrder`` when there is no such episode.
    """
    row = _episode_row(session, req.warehouse_id, req.sku, req.n)
    if row.status == CLOSED:
        return CloseResult(closed=False)
    row.status, row.closed_at = CLOSED, datetime.now(UTC)
    session.flush()
    return CloseResult(closed=True)


# --- purchase orders --------------------------------------------------------------------------


def create_purchase_order(session: Session, req: PurchaseOrderRequest) -> PurchaseOrder:
    """Raise purchase order ``req.po_id`` for the episode; idempotent on ``po_id``.

    Raises ``UnknownPurchaseOrder`` when the episode does not exist and
    ``NoSupplier`` when the SKU has no supplier.
    """
    episode = _episode_row(session, req.warehouse_id, req.sku, req.n)
    row = session.get(PurchaseOrderRow, req.po_id)
    if row is None:
        link = session.get(ProductSupplierRow, req.sku)
        if link is None:
            raise NoSupplier(f"SKU {req.sku} has no supplier: link one to raise a purchase order")
        policy = session.get(ReorderPolicyRow, (req.warehouse_id, req.sku))
        reorder_qty = policy.reorder_qty if policy is not None else 1
        backordered = inventory.open_backorder_units(session, req.sku, req.warehouse_id)
        try:
            with session.begin_nested():
                row = PurchaseOrderRow(
                    po_id=req.po_id,
                    replenishment_id=episode.id,
                    supplier_id=link.supplier_id,
                    warehouse_id=req.warehouse_id,
                    status="sent",
                    supplier_reference="",
                )
                session.add(row)
                session.flush()
                session.add(
                    PurchaseOrderLineRow(
                        po_id=req.po_id,
                        sku=req.sku,
                        quantity=order_quantity(reorder_qty, backordered),
                        unit_cost=link.unit_cost,
                        received_qty=0,
                    )
                )
        except IntegrityError:
            row = session.get(PurchaseOrderRow, req.po_id, populate_existing=True)
            if row is None:
                raise
        else:
            _emit(session, PURCHASE_ORDER_SENT, episode, row.created_at)
    return _purchase_order(session, row, episode)


def confirm_purchase_order(session: Session, req: RecordConfirmation) -> PurchaseOrder:
    """Mark the order confirmed by the supplier (a second confirmation changes nothing)."""
    row = _po_row(session, req.po_id)
    if row.confirmed_at is None:
        row.confirmed_at = datetime.now(UTC)
        row.supplier_reference = req.supplier_reference
        if row.status == "sent":
            row.status = "confirmed"
        session.flush()
    episode = session.get(ReplenishmentRow, row.replenishment_id)
    assert episode is not None
    return _purchase_order(session, row, episode)


def receive_goods(session: Session, req: GoodsReceiptRequest) -> GoodsReceiptResult:
    """Book a delivery: raise on-hand stock and fill backorders, oldest first.

    Idempotent on ``req.key``: a repeat changes nothing and answers the same
    filled orders. Raises ``UnknownPurchaseOrder``, or ``OverDelivery`` when
    the line would receive more than ordered.
    """
    row = _po_row(session, req.po_id)
    line = session.get(PurchaseOrderLineRow, (req.po_id, req.sku), with_for_update=True)
    if line is None:
        raise UnknownPurchaseOrder(f"purchase order {req.po_id} has no line for {req.sku}")
    done = session.get(GoodsReceiptRow, req.key)
    if done is not None:
        stock = session.get(StockRow, (row.warehouse_id, req.sku))
        assert stock is not None
        return _receipt(req.key, line, stock.on_hand, stock.reserved, done.filled_orders)
    if line.received_qty + req.quantity > line.quantity:
        raise OverDelivery(
            f"{req.po_id}: {req.quantity} more x {req.sku} would exceed the "
            f"{line.quantity - line.received_qty} still expected"
        )
    receipt = GoodsReceiptRow(
        key=req.key, po_id=req.po_id, sku=req.sku, quantity=req.quantity, filled_orders={}
    )
    session.add(receipt)
    session.flush()  # a concurrent call with this key fails here and retries
    stocked = inventory.receive_units(session, row.warehouse_id, req.sku, req.quantity)
    line.received_qty += req.quantity
    row.status = "received" if line.received_qty >= line.quantity else "partially_received"
    receipt.filled_orders = {"orders": stocked.filled_orders}
    session.flush()
    if row.status == "received":
        episode = session.get(ReplenishmentRow, row.replenishment_id)
        assert episode is not None  # foreign key
        _emit(session, PURCHASE_ORDER_RECEIVED, episode, datetime.now(UTC))
    return _receipt(
        req.key, line, stocked.stock.on_hand, stocked.stock.reserved, receipt.filled_orders
    )


def list_replenishments(
    session: Session,
    status: str | None = None,
    warehouse_id: str | None = None,
    sku: str | None = None,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[ReplenishmentSummary]:
    """Episodes, newest first, with their purchase order's progress.

    Raises ``InvalidCursor`` for a foreign cursor.
    """
    query = paging.where_given(
        select(ReplenishmentRow),
        {
            ReplenishmentRow.status: status,
            ReplenishmentRow.warehouse_id: warehouse_id,
            ReplenishmentRow.sku: sku,
        },
    )

    def summaries(episodes: Sequence[ReplenishmentRow]) -> list[ReplenishmentSummary]:
        # The page's purchase orders and their lines in two queries, not two per episode.
        ids = [episode.id for episode in episodes]
        pos = {
            po.replenishment_id: po
            for po in session.scalars(
                select(PurchaseOrderRow).where(PurchaseOrderRow.replenishment_id.in_(ids))
            )
        }
        lines = {
            (line.po_id, line.sku): line
            for line in session.scalars(
                select(PurchaseOrderLineRow).where(
                    PurchaseOrderLineRow.po_id.in_([po.po_id for po in pos.values()])
                )
            )
        }
        return [
            _summary_of(episode, po, None if po is None else lines.get((po.po_id, episode.sku)))
            for episode in episodes
            for po in [pos.get(episode.id)]
        ]

    keys = [(ReplenishmentRow.opened_at, True), (ReplenishmentRow.id, True)]
    return paging.page(session, query, keys, cursor=cursor, limit=limit, convert_rows=summaries)


def _summary(
    session: Session, episode: ReplenishmentRow, po: PurchaseOrderRow | None
) -> ReplenishmentSummary:
    line = None if po is None else session.get(PurchaseOrderLineRow, (po.po_id, episode.sku))
    return _summary_of(episode, po, line)


def _summary_of(
    episode: ReplenishmentRow, po: PurchaseOrderRow | None, line: PurchaseOrderLineRow | None
) -> ReplenishmentSummary:
    return ReplenishmentSummary(
        workflow_id=replenishment_workflow_id(episode.warehouse_id, episode.sku, episode.n),
        po_id=purchase_order_id(episode.warehouse_id, episode.sku, episode.n),
        warehouse_id=episode.warehouse_id,
        sku=episode.sku,
        n=episode.n,
        status=episode.status,
        po_status=None if po is None else po.status,
        supplier_id=None if po is None else po.supplier_id,
        ordered=0 if line is None else line.quantity,
        received=0 if line is None else line.received_qty,
        opened_at=episode.opened_at,
        closed_at=episode.closed_at,
    )


def _emit(session: Session, type_: str, episode: ReplenishmentRow, at: datetime) -> None:
    """Event ``type_`` of the episode's purchase order, its data the episode as
    ``GET /replenishment`` lists it (once per episode and type)."""
    session.flush()
    po = session.scalar(
        select(PurchaseOrderRow).where(PurchaseOrderRow.replenishment_id == episode.id)
    )
    object_id = purchase_order_id(episode.warehouse_id, episode.sku, episode.n)
    summary = _summary(session, episode, po)
    emit(session, type_, object_id, type_, at, summary.model_dump(mode="json"))


# --- helpers ----------------------------------------------------------------------------------


def _open_row(session: Session, warehouse_id: str, sku: str) -> ReplenishmentRow | None:
    return session.scalar(
        select(ReplenishmentRow)
        .where(
            ReplenishmentRow.warehouse_id == warehouse_id,
            ReplenishmentRow.sku == sku,
            ReplenishmentRow.status == OPEN,
        )
        .execution_options(populate_existing=True)
    )


def _episode_row(session: Session, warehouse_id: str, sku: str, n: int) -> ReplenishmentRow:
    row = session.scalar(
        select(ReplenishmentRow).where(
            ReplenishmentRow.warehouse_id == warehouse_id,
            ReplenishmentRow.sku == sku,
            ReplenishmentRow.n == n,
        )
    )
    if row is None:
        raise UnknownPurchaseOrder(f"no replenishment {n} of {sku} in {warehouse_id}")
    return row


def _po_row(session: Session, po_id: str) -> PurchaseOrderRow:
    row = session.get(PurchaseOrderRow, po_id, with_for_update=True)
    if row is None:
        raise UnknownPurchaseOrder(f"unknown purchase order {po_id!r}")
    return row


def _episode(row: ReplenishmentRow, opened: bool) -> Episode:
    return Episode(
        warehouse_id=row.warehouse_id,
        sku=row.sku,
        n=row.n,
        available=row.available_at_open,
        reorder_point=row.reorder_point,
        opened=opened,
        opened_at=row.opened_at,
    )


def _supplier(row: SupplierRow) -> Supplier:
    return Supplier.model_validate(row, from_attributes=True)


def _purchase_order(
    session: Session, row: PurchaseOrderRow, episode: ReplenishmentRow
) -> PurchaseOrder:
    supplier = session.get(SupplierRow, row.supplier_id)
    assert supplier is not None  # foreign key
    lines = []
    for line in session.scalars(
        select(PurchaseOrderLineRow)
        .where(PurchaseOrderLineRow.po_id == row.po_id)
        .order_by(PurchaseOrderLineRow.sku)
    ):
        product = session.get(ProductRow, line.sku)
        lines.append(
            PurchaseOrderLine(
                sku=line.sku,
                name="" if product is None else product.name,
                quantity=line.quantity,
                unit_cost=line.unit_cost,
                received=line.received_qty,
            )
        )
    product = session.get(ProductRow, episode.sku)
    return PurchaseOrder(
        po_id=row.po_id,
        warehouse_id=row.warehouse_id,
        supplier=_supplier(supplier),
        lines=lines,
        created_at=row.created_at,
        available=episode.available_at_open,
        reorder_point=episode.reorder_point,
        backordered=inventory.open_backorder_units(session, episode.sku, row.warehouse_id),
        currency="SEK" if product is None else product.currency,
    )


def _receipt(
    key: str, line: PurchaseOrderLineRow, on_hand: int, reserved: int, filled: dict[str, object]
) -> GoodsReceiptResult:
    orders = filled.get("orders", [])
    return GoodsReceiptResult(
        key=key,
        ordered=line.quantity,
        received=line.received_qty,
        on_hand=on_hand,
        available=on_hand - reserved,
        filled_orders=list(orders) if isinstance(orders, list) else [],
    )


def open_episodes(session: Session) -> list[Episode]:
    """Every open episode, oldest first."""
    rows = session.scalars(
        select(ReplenishmentRow)
        .where(ReplenishmentRow.status == OPEN)
        .order_by(ReplenishmentRow.opened_at, ReplenishmentRow.id)
    )
    return [_episode(row, opened=False) for row in rows]


class ReplenishmentStore(Bound):
    """The replenishment tables as the low-stock check and the activities use them."""

    def open_low_stock(self, skus: Collection[str] | None) -> list[Episode]:
        """Open (or find) an episode for each SKU of ``skus`` (``None``: every SKU) at or
        below its reorder point, in one transaction; returns them."""

        def work(session: Session) -> list[Episode]:
            episodes = []
            for warehouse_id, sku in low_stock(session, skus):
                episode = open_episode(session, warehouse_id, sku)
                if episode is not None:
                    episodes.append(episode)
            return episodes

        return self._tx(work)

    def scan(self) -> list[Episode]:
        """Open an episode for every SKU below its point; returns every open episode."""

        def work(session: Session) -> list[Episode]:
            for warehouse_id, sku in low_stock(session, None):
                open_episode(session, warehouse_id, sku)
            return open_episodes(session)

        return self._tx(work)

    purchase_order = in_transaction(create_purchase_order)
    confirm = in_transaction(confirm_purchase_order)
    receive = in_transaction(receive_goods)
    close = in_transaction(close_episode)
