"""Payment activities: authorize, capture, void an authorization, refund.

A declined authorization is an answer (``status="declined"``), not an error:
the order workflow decides what a decline means. Operations that can never
succeed raise a non-retryable ``ApplicationError`` of type ``PaymentRejected``
(or ``RefundDeclined``); a provider that is down raises a retryable
``PaymentUnavailable``; database errors propagate so Temporal retries them.

The activities are synchronous (the provider uses blocking SQLAlchemy): the
worker must be given an ``activity_executor`` (a thread pool).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.rejections import rejected
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

if TYPE_CHECKING:
    from oms.ports.payments import PaymentProvider

T = TypeVar("T")


def _translated(call: Callable[[], T]) -> T:
    try:
        return call()
    except AuthorizationExpired as exc:  # a PaymentRejected of its own type
        raise rejected(exc, "AuthorizationExpired") from exc
    except PaymentRejected as exc:
        raise rejected(exc, "PaymentRejected") from exc
    except RefundDeclined as exc:
        raise rejected(exc, "RefundDeclined") from exc
    except PaymentUnavailable as exc:
        raise ApplicationError(str(exc), type="PaymentUnavailable") from exc


class PaymentActivities:
    """Activities that move money through the payment provider, each idempotent on its key."""

    def __init__(self, provider: PaymentProvider) -> None:
        self._provider = provider

    @activity.defn(name="payments.authorize")
    def authorize(self, request: AuthorizeRequest) -> Authorization:
        """Reserve the order's amount on the customer's card.

        Returns ``status="declined"`` with a reason when the card is declined.
        Raises ApplicationError ``PaymentRejected`` (non-retryable) only when the
        idempotency key was already used for another operation.
        """
        return _translated(lambda: self._provider.authorize(request))

    @activity.defn(name="payments.capture")
    def capture(self, request: CaptureRequest) -> Capture:
        """Take money from an authorization (per shipment, as it ships).

        Raises ApplicationError ``PaymentRejected`` (non-retryable) when the amount
        exceeds what is left of the authorization, or the authorization is
        unknown, declined or in another currency; ``AuthorizationExpired``
        (non-retryable) when the authorization has lapsed.
        """
        return _translated(lambda: self._provider.capture(request))

    @activity.defn(name="payments.void_authorization")
    def void_authorization(self, request: VoidAuthorizationRequest) -> VoidAuthorizationResult:
        """Release whatever is left uncaptured on an authorization (cancel, partial ship),
        or at most ``request.amount`` of it (part of the order was cancelled).

        Idempotent; after a full capture it voids 0. Raises ApplicationError
        ``PaymentRejected`` (non-retryable) for an unknown authorization.
        """
        return _translated(lambda: self._provider.void(request))

    @activity.defn(name="payments.refund")
    def refund(self, request: RefundRequest) -> Refund:
        """Refund part of what the order's payment captured, exactly once per idempotency key.

        Raises ApplicationError ``RefundDeclined`` (non-retryable) when the amount
        exceeds captured minus already refunded, the order has no captured card
        payment, or the provider declines; ``PaymentUnavailable`` (retryable)
        when the provider is down.
        """
        return _translated(lambda: self._provider.refund(request))
