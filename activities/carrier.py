"""Carrier activities: quote rates, buy a label or a return label exactly once, void a label.

Business rejections become non-retryable ``ApplicationError`` types
``InvalidAddress`` and ``CarrierRejected``; a carrier that is down or rate
limiting becomes a retryable ``CarrierUnavailable`` (honouring its
``Retry-After``); database errors propagate so Temporal retries them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.adapters.carrier_http import CarrierClient
from activities.adapters.errors import CarrierRejected, CarrierUnavailable, InvalidAddress
from oms.models.carrier import (
    Label,
    LabelRequest,
    RateQuote,
    RateRequest,
    VoidLabelRequest,
    VoidLabelResult,
)
from oms.models.returns import ReturnLabelRequest
from oms.store.db import Database
from oms.store.tables import LabelRow

T = TypeVar("T")


async def _translated(call: Awaitable[T]) -> T:
    """Await a carrier call, turning adapter errors into Temporal's application errors."""
    try:
        return await call
    except InvalidAddress as exc:
        raise ApplicationError(str(exc), type="InvalidAddress", non_retryable=True) from exc
    except CarrierRejected as exc:
        raise ApplicationError(str(exc), type="CarrierRejected", non_retryable=True) from exc
    except CarrierUnavailable as exc:
        delay = None if exc.retry_after_s is None else timedelta(seconds=exc.retry_after_s)
        raise ApplicationError(str(exc), type="CarrierUnavailable", next_retry_delay=delay) from exc


def _label_of(row: LabelRow) -> Label:
    return Label(
        label_id=row.label_id,
        tracking_number=row.tracking_number,
        carrier=row.carrier,
        service=row.service,
        price=row.price,
        currency=row.currency,
    )


class CarrierActivities:
    """Activities that talk to the carrier; built once per worker with its client and database."""

    def __init__(self, client: CarrierClient, db: Database) -> None:
        self._client = client
        self._db = db

    @activity.defn(name="carrier.quote_rates")
    async def quote_rates(self, request: RateRequest) -> RateQuote:
        """Ask the carrier for rates for a shipment's packages.

        Raises ApplicationError ``InvalidAddress`` (non-retryable) when the carrier
        cannot serve an address, ``CarrierRejected`` (non-retryable) for other
        refusals, ``CarrierUnavailable`` (retryable) when the carrier is down.
        """
        return await _translated(self._client.rates(request))

    @activity.defn(name="carrier.buy_label")
    async def buy_label(self, request: LabelRequest) -> Label:
        """Buy a shipping label exactly once per ``request.idempotency_key``.

        A label already recorded under the key is returned without calling the
        carrier; otherwise the carrier is called with the same key (so a retry
        after a lost answer gets the same label) and the label is recorded.
        Raises the same ApplicationError types as ``quote_rates``.
        """
        stored = await asyncio.to_thread(self._find_label, request.idempotency_key)
        if stored is not None:
            return stored
        label = await _translated(self._client.buy_label(request))
        return await asyncio.to_thread(
            self._record_label, request.idempotency_key, request.shipment_id, label
        )

    @activity.defn(name="carrier.buy_return_label")
    async def buy_return_label(self, request: ReturnLabelRequest) -> Label:
        """Buy a prepaid return label (customer to warehouse) once per ``idempotency_key``.

        Recorded like shipping labels, under the RMA id. Raises the same
        ApplicationError types as ``quote_rates``.
        """
        stored = await asyncio.to_thread(self._find_label, request.idempotency_key)
        if stored is not None:
            return stored
        label = await _translated(self._client.buy_return_label(request))
        return await asyncio.to_thread(
            self._record_label, request.idempotency_key, request.rma_id, label
        )

    @activity.defn(name="carrier.void_label")
    async def void_label(self, request: VoidLabelRequest) -> VoidLabelResult:
        """Void a label that will not be used (a cancelled shipment) and mark it voided.

        Idempotent. Raises ApplicationError ``CarrierRejected`` (non-retryable) when
        the carrier refuses, e.g. the parcel has already been scanned, and
        ``CarrierUnavailable`` (retryable) when the carrier is down.
        """
        result = await _translated(self._client.void_label(request))
        if result.voided:
            await asyncio.to_thread(self._mark_voided, request)
        return result

    def _find_label(self, key: str) -> Label | None:
        with self._db.session() as session:
            row = session.get(LabelRow, key)
            return None if row is None else _label_of(row)

    def _record_label(self, key: str, shipment_id: str, label: Label) -> Label:
        try:
            with self._db.session() as session:
                session.add(
                    LabelRow(
                        idempotency_key=key,
                        shipment_id=shipment_id,
                        label_id=label.label_id,
                        tracking_number=label.tracking_number,
                        carrier=label.carrier,
                        service=label.service,
                        price=label.price,
                        currency=label.currency,
                    )
                )
        except IntegrityError:
            # A concurrent attempt recorded the key first: its row is the answer.
            stored = self._find_label(key)
            if stored is None:
                raise
            return stored
        return label

    def _mark_voided(self, request: VoidLabelRequest) -> None:
        with self._db.session() as session:
            session.execute(
                update(LabelRow).where(LabelRow.label_id == request.label_id).values(voided=True)
            )
