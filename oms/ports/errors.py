"""Errors the ports of the external parties (carrier, payments, email) raise.

Two kinds: transient (``CarrierUnavailable``, ``PaymentUnavailable``,
``EmailUnavailable``: try again later) and permanent (``InvalidAddress``,
``CarrierRejected``, ``PaymentRejected`` and its ``AuthorizationExpired``,
``RefundDeclined``, ``EmailRejected``, ``TemplateError``: retrying the same
request cannot succeed). Activities translate them into ``ApplicationError``
types of the same names.
"""

from __future__ import annotations


class AdapterError(Exception):
    """Base of every adapter error."""


class CarrierUnavailable(AdapterError):
    """The carrier did not answer usefully (5xx, 429, timeout, connection error); retry later.

    ``retry_after_s`` is the carrier's ``Retry-After`` hint, when it sent one.
    """

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InvalidAddress(AdapterError):
    """The carrier cannot ship to or from an address (bad postal code, unsupported country)."""


class CarrierRejected(AdapterError):
    """The carrier refused the request for good (4xx other than a bad address)."""

    def __init__(self, message: str, *, status_code: int, code: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code


class PaymentRejected(AdapterError):
    """The payment provider refused an operation (capture beyond the authorization, unknown
    authorization, currency mismatch, idempotency key reused for another operation)."""


class AuthorizationExpired(PaymentRejected):
    """The provider refused a capture because the authorization lapsed (card networks let an
    authorization expire after about 7 days): the money has to be authorized again."""


class PaymentUnavailable(AdapterError):
    """The payment provider could not be reached or answered 5xx: retry later."""


class RefundDeclined(AdapterError):
    """The payment provider refused a refund for good (more than is left to refund, no
    captured payment, declined by the provider): a person has to look at it."""


class EmailUnavailable(AdapterError):
    """The SMTP server could not take the message now (refused, timeout, 4xx, a TLS or
    AUTH set-up that failed): retry later."""


class EmailRejected(AdapterError):
    """The SMTP server refused the message or recipient for good (5xx): permanent."""


class TemplateError(AdapterError):
    """Unknown email template or a variable missing from its context: permanent."""
