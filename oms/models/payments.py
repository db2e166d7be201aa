"""Models of the payment adapter: authorize, capture, void."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from oms.models.common import Model


class AuthorizeRequest(Model):
    idempotency_key: str
    order_id: str
    amount: Decimal
    currency: str
    token: str


class Authorization(Model):
    authorization_id: str
    status: Literal["authorized", "declined"]
    amount: Decimal
    currency: str
    decline_reason: str | None = None


class CaptureRequest(Model):
    idempotency_key: str
    authorization_id: str
    amount: Decimal
    currency: str


class Capture(Model):
    capture_id: str
    authorization_id: str
    amount: Decimal
    currency: str


class VoidAuthorizationRequest(Model):
    idempotency_key: str
    authorization_id: str
    # Release at most this much (a cancelled part of an order); None: all that is left.
    amount: Decimal | None = None


class VoidAuthorizationResult(Model):
    authorization_id: str
    voided_amount: Decimal
