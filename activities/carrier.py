"""Carrier activities: quote rates, buy a label or a return label exactly once, void a label.

Business rejections become non-retryable ``ApplicationError`` types
``InvalidAddress``, ``CustomsDataMissing`` (a parcel through customs with a product
lacking its HS code or origin) and ``CarrierRejected``; a carrier that is down or rate
limiting becomes a retryable ``CarrierUnavailable`` (honouring its
``Retry-After``); database errors propagate so Temporal retries them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.rejections import rejected
from oms.domain import customs
from oms.domain.shipping import crosses_customs_border
from oms.models.carrier import (
    Label,
    LabelRequest,
    RateQuote,
    RateRequest,
    VoidLabelRequest,
    VoidLabelResult,
)
from oms.models.customs import CustomsDeclaration, Incoterms
from oms.models.inventory import Product
from oms.models.returns import ReturnLabelRequest
from oms.ports.errors import CarrierRejected, CarrierUnavailable, InvalidAddress

if TYPE_CHECKING:
    from oms.ports.carrier import Carrier


class Labels(Protocol):
    """Where bought labels are recorded by key (``oms.store.labels.LabelStore``)."""

    def find(self, key: str) -> Label | None: ...

    def owner_of(self, key: str) -> str | None: ...

    def record(
        self, key: str, owner_id: str, label: Label, customs: CustomsDeclaration | None = None
    ) -> Label: ...

    def mark_voided(self, label_id: str) -> None: ...


class Catalogue(Protocol):
    """The products' master data (``oms.store.inventory.StockStore``)."""

    def products(self, skus: list[str]) -> dict[str, Product]: ...


T = TypeVar("T")


async def _translated(call: Awaitable[T]) -> T:
    """Await a carrier call, turning adapter errors into Temporal's application errors."""
    try:
        return await call
    except InvalidAddress as exc:
        raise rejected(exc, "InvalidAddress") from exc
    except CarrierRejected as exc:
        raise rejected(exc, "CarrierRejected") from exc
    except CarrierUnavailable as exc:
        delay = None if exc.retry_after_s is None else timedelta(seconds=exc.retry_after_s)
        raise ApplicationError(str(exc), type="CarrierUnavailable", next_retry_delay=delay) from exc


class CarrierActivities:
    """Activities that talk to the carrier; built once per worker with its client and database."""

    def __init__(
        self,
        client: Carrier,
        labels: Labels,
        *,
        catalogue: Catalogue | None = None,
        incoterms: Incoterms = "DAP",
    ) -> None:
        self._client = client
        self._labels = labels
        # Without a catalogue nothing is declared: the carrier refuses a label through customs.
        self._catalogue = catalogue
        self._incoterms: Incoterms = incoterms

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
        after a lost answer gets the same label) and the label is recorded. A parcel
        leaving its customs area carries its customs declaration (built from the
        catalogue), recorded with the label for its commercial invoice.
        Raises the same ApplicationError types as ``quote_rates``, and
        ``CustomsDataMissing``.
        """
        stored = await self._stored(
            request.idempotency_key, request.shipment_id, service=request.service
        )
        if stored is not None:
            return stored
        declared = await self._declaration(request)
        if declared is not None:
            request = request.model_copy(update={"customs": declared})
        label = await _translated(self._client.buy_label(request))
        return await asyncio.to_thread(
            self._labels.record, request.idempotency_key, request.shipment_id, label, declared
        )

    async def _declaration(self, request: LabelRequest) -> CustomsDeclaration | None:
        """The customs declaration of a parcel leaving its customs area, None inside one.

        Raises ApplicationError ``CustomsDataMissing`` (non-retryable) naming the products
        without an HS code or country of origin.
        """
        origin, destination = request.ship_from.country, request.ship_to.country
        if not crosses_customs_border(origin, destination) or self._catalogue is None:
            return None
        lines = request.lines
        if not lines:  # scheduled by a worker from before declarations: nothing to declare
            raise ApplicationError(
                f"no lines to declare for customs on shipment {request.shipment_id}",
                type="CustomsDataMissing",
                non_retryable=True,
            )
        products = await asyncio.to_thread(self._catalogue.products, [li.sku for li in lines])
        try:
            return customs.declaration(
                shipment_id=request.shipment_id,
                order_id=request.order_id or "",
                export_country=origin,
                import_country=destination,
                lines=lines,
                products=products,
                currency=request.currency or "",
                incoterms=self._incoterms,
            )
        except (customs.MissingCustomsData, ValueError) as exc:
            raise rejected(exc, "CustomsDataMissing") from exc

    @activity.defn(name="carrier.buy_return_label")
    async def buy_return_label(self, request: ReturnLabelRequest) -> Label:
        """Buy a prepaid return label (customer to warehouse) once per ``idempotency_key``.

        Recorded like shipping labels, under the RMA id. Raises the same
        ApplicationError types as ``quote_rates``.
        """
        return await self._once(
            request.idempotency_key, request.rma_id, lambda: self._client.buy_return_label(request)
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
            await asyncio.to_thread(self._labels.mark_voided, request.label_id)
        return result

    async def _once(
        self,
        key: str,
        owner_id: str,
        buy: Callable[[], Awaitable[Label]],
        service: str | None = None,
    ) -> Label:
        """The label recorded under ``key``, or ``buy()``'s, recorded under it for
        ``owner_id`` (a shipment or an RMA).

        Raises ApplicationError ``IdempotencyMismatch`` (non-retryable) when the key's label
        was bought for another shipment or RMA, or another service: handing it out again
        would ship this parcel on someone else's label.
        """
        stored = await self._stored(key, owner_id, service=service)
        if stored is not None:
            return stored
        label = await _translated(buy())
        return await asyncio.to_thread(self._labels.record, key, owner_id, label)

    async def _stored(self, key: str, owner_id: str, service: str | None = None) -> Label | None:
        """The label recorded under ``key``, if any, when it was bought for ``owner_id``
        (and ``service``); raises ApplicationError ``IdempotencyMismatch`` (non-retryable)
        when it was bought for another shipment or RMA, or another service: handing it out
        again would ship this parcel on someone else's label."""
        stored = await asyncio.to_thread(self._labels.find, key)
        if stored is None:
            return None
        owner = await asyncio.to_thread(self._labels.owner_of, key)
        if owner != owner_id or (service is not None and stored.service != service):
            raise ApplicationError(
                f"label key {key!r} was used for another shipment or service; use a new key",
                type="IdempotencyMismatch",
                non_retryable=True,
            )
        return stored
