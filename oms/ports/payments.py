"""The payment provider port: authorize, capture, void and refund, each once per key.

The sandbox provider (``sandboxes/payments.py``) implements it;
a merchant's real provider is another implementation. Implementations raise
``PaymentRejected`` (a key reused for another operation), ``AuthorizationExpired`` (a
capture on an authorization older than the provider keeps them), ``RefundDeclined`` and
``PaymentUnavailable`` (``oms.ports.errors``); a declined card is not an error but
an ``Authorization`` with status ``declined``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from oms.models.payments import (
        Authorization,
        AuthorizeRequest,
        Capture,
        CaptureRequest,
        VoidAuthorizationRequest,
        VoidAuthorizationResult,
    )
    from oms.models.returns import Refund, RefundRequest


class PaymentProvider(Protocol):
    """A payment provider as the OMS uses it; the same idempotency key gives the same answer."""

    def authorize(self, request: AuthorizeRequest) -> Authorization:
        """Reserve the amount on the customer's payment method."""
        ...

    def capture(self, request: CaptureRequest) -> Capture:
        """Take (part of) an authorization's amount; ``AuthorizationExpired`` once the
        authorization has lapsed."""
        ...

    def void(self, request: VoidAuthorizationRequest) -> VoidAuthorizationResult:
        """Give back what an authorization still holds (at most ``request.amount`` when set:
        a partial release, after part of the order was cancelled)."""
        ...

    def refund(self, request: RefundRequest) -> Refund:
        """Give back part of what was captured for the order."""
        ...
