"""The carrier port: rates, shipping and return labels, voids.

``activities/adapters/carrier_http.py`` implements it over HTTP (the sandbox
carrier speaks the same protocol). Implementations raise ``InvalidAddress`` and
``CarrierRejected`` for refusals and ``CarrierUnavailable`` when the carrier is
down or rate limiting (``oms.ports.errors``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from oms.models.carrier import (
        Label,
        LabelRequest,
        RateQuote,
        RateRequest,
        VoidLabelRequest,
        VoidLabelResult,
    )
    from oms.models.returns import ReturnLabelRequest


class Carrier(Protocol):
    """A carrier's API as the OMS uses it; every call is idempotent on its request's key."""

    async def rates(self, request: RateRequest) -> RateQuote:
        """Prices and services for a shipment's packages."""
        ...

    async def buy_label(self, request: LabelRequest) -> Label:
        """Buy a shipping label; the same ``idempotency_key`` returns the same label."""
        ...

    async def buy_return_label(self, request: ReturnLabelRequest) -> Label:
        """Buy a prepaid return label (customer to warehouse), idempotent likewise."""
        ...

    async def void_label(self, request: VoidLabelRequest) -> VoidLabelResult:
        """Void a label that will not be used; voiding twice is not an error."""
        ...

    async def aclose(self) -> None:
        """Release connections; the worker calls it once when it stops."""
        ...
