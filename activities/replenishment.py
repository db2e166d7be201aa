"""Replenishment activities: purchase orders, confirmations, goods receipts and low-stock checks.

Store work runs in one transaction per call and is idempotent on its
business key (``po_id``, the receipt key). Business rejections become
non-retryable ``ApplicationError`` named after the store exception
(``NoSupplier``, ``OverDelivery``, ``UnknownPurchaseOrder``). Synchronous
(a blocking store): register on a worker with an ``activity_executor``.

``LowStock`` opens episodes and starts their ``ReplenishmentWorkflow`` from
a worker thread, through the worker's own Temporal client and event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from typing import Protocol

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities.rejections import translated
from oms import search_attributes as sa
from oms.domain.replenishment import replenishment_workflow_id
from oms.models.replenishment import (
    CloseEpisode,
    CloseResult,
    Episode,
    GoodsReceiptRequest,
    GoodsReceiptResult,
    PurchaseOrder,
    PurchaseOrderRequest,
    RecordConfirmation,
    ReplenishmentInput,
    ReplenishmentOptions,
    ScanRequest,
    ScanResult,
)

log = logging.getLogger("oms.replenishment")

# The workflow is started by name: activities do not import workflow code.
WORKFLOW_NAME = "ReplenishmentWorkflow"


class ReplenishmentStarter:
    """Starts ``ReplenishmentWorkflow`` for an episode from a worker thread (idempotent by id)."""

    def __init__(
        self,
        client: Client,
        loop: asyncio.AbstractEventLoop,
        task_queue: str,
        options: ReplenishmentOptions,
        # Well inside the allocate activity's start-to-close: a slow server must not time it out.
        timeout_s: float = 10.0,
    ) -> None:
        self._client, self._loop = client, loop
        self._task_queue, self._options, self._timeout_s = task_queue, options, timeout_s

    def start(self, episode: Episode) -> str:
        """Start the episode's workflow unless it runs or ran; returns its workflow id.

        Raises whatever the Temporal client raises but ``WorkflowAlreadyStartedError``.
        """
        future = asyncio.run_coroutine_threadsafe(self.start_async(episode), self._loop)
        return future.result(timeout=self._timeout_s)

    async def start_async(self, episode: Episode) -> str:
        """``start`` for callers on the event loop (the API)."""
        workflow_id = replenishment_workflow_id(episode.warehouse_id, episode.sku, episode.n)
        # Started by an earlier call already: that is the point of the fixed id.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self._client.start_workflow(
                WORKFLOW_NAME,
                # The input is the episode as it opened (whether this call opened it is
                # no part of it) and the worker's options.
                ReplenishmentInput(**episode.model_dump(exclude={"opened"}), options=self._options),
                id=workflow_id,
                task_queue=self._task_queue,
                # A failed or terminated episode workflow starts again (its steps are idempotent).
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                # What ops filter on (``OmsKind = 'replenishment'``, ``/ops/stuck?kind=``);
                # the workflow's tracker sets its stage and clocks itself.
                search_attributes=sa.typed(
                    {"OmsKind": "replenishment", "OmsWarehouse": episode.warehouse_id}
                ),
                static_summary=(
                    f"Replenish {episode.sku} in {episode.warehouse_id} (episode {episode.n}): "
                    f"{episode.available} available, reorder point {episode.reorder_point}"
                ),
            )
        return workflow_id


class EpisodeStarter(Protocol):
    """Starts an episode's workflow (``ReplenishmentStarter``); idempotent by workflow id."""

    def start(self, episode: Episode) -> str: ...


class EpisodeStore(Protocol):
    """The replenishment tables (``oms.store.replenishment.ReplenishmentStore``)."""

    def open_low_stock(self, skus: Collection[str] | None) -> list[Episode]: ...

    def scan(self) -> list[Episode]: ...

    def purchase_order(self, req: PurchaseOrderRequest) -> PurchaseOrder: ...

    def confirm(self, req: RecordConfirmation) -> PurchaseOrder: ...

    def receive(self, req: GoodsReceiptRequest) -> GoodsReceiptResult: ...

    def close(self, req: CloseEpisode) -> CloseResult: ...


class LowStock:
    """Opens low-stock episodes for SKUs at or below their reorder point and starts workflows."""

    def __init__(self, store: EpisodeStore, starter: EpisodeStarter) -> None:
        self._store, self._starter = store, starter

    def after_reservation(self, skus: Collection[str]) -> list[str]:
        """Check the SKUs a reservation just took; start a workflow for each episode opened now.

        Never raises: the order that reserved must not wait on purchasing, and
        the daily scan starts whatever a failure here missed.
        """
        try:
            episodes = self._store.open_low_stock(skus)
            return [self._starter.start(e) for e in episodes if e.opened]
        except Exception:
            log.warning("low-stock check after a reservation failed", exc_info=True)
            return []

    def scan(self) -> list[str]:
        """Open an episode for every SKU below its point; start every open episode's workflow."""
        return [self._starter.start(e) for e in self._store.scan()]


class ReplenishmentActivities:
    """Activities over the replenishment tables, built with their store."""

    def __init__(self, store: EpisodeStore, low_stock: LowStock | None = None) -> None:
        self._store = store
        self._low_stock = low_stock

    @activity.defn(name="replenishment.purchase_order")
    def purchase_order(self, request: PurchaseOrderRequest) -> PurchaseOrder:
        """Raise (or find) the episode's purchase order; idempotent on ``po_id``.

        Raises ApplicationError ``NoSupplier`` or ``UnknownPurchaseOrder`` (non-retryable).
        """
        return translated(lambda: self._store.purchase_order(request))

    @activity.defn(name="replenishment.confirm")
    def confirm(self, request: RecordConfirmation) -> PurchaseOrder:
        """Record the supplier's confirmation; a repeat changes nothing."""
        return translated(lambda: self._store.confirm(request))

    @activity.defn(name="replenishment.receive")
    def receive(self, request: GoodsReceiptRequest) -> GoodsReceiptResult:
        """Book a delivery: on-hand stock up, backorders filled oldest first; once per key.

        Raises ApplicationError ``OverDelivery`` or ``UnknownPurchaseOrder`` (non-retryable).
        """
        return translated(lambda: self._store.receive(request))

    @activity.defn(name="replenishment.close")
    def close(self, request: CloseEpisode) -> CloseResult:
        """Close the episode, so the next low-stock spell opens a new one."""
        return translated(lambda: self._store.close(request))

    @activity.defn(name="replenishment.scan")
    def scan(self, request: ScanRequest) -> ScanResult:
        """The daily scan: open episodes for every SKU below its point and start their workflows."""
        if self._low_stock is None:
            raise ApplicationError("no Temporal client to start workflows", type="NotConfigured")
        return ScanResult(workflow_ids=self._low_stock.scan())
