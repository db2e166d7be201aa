"""Domain exceptions of the store: business rejections, never worth retrying.

Activities translate each into a non-retryable ``ApplicationError`` whose
``type`` is the exception's class name.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every business rejection raised by ``oms.store``."""


class UnknownWarehouse(StoreError):
    """No warehouse has this id."""


class UnknownSku(StoreError):
    """No product has this SKU."""


class IdempotencyMismatch(StoreError):
    """An idempotency key replayed with other content (another order or other lines) than
    the call that used it first: answering with the first result would hand out stock or
    money for something else."""


class StockBelowReserved(StoreError):
    """Setting on-hand stock below the units already reserved would oversell."""


class UnknownCompany(StoreError):
    """No B2B company has this id."""


class InvalidCreditMovement(StoreError):
    """A credit movement that cannot apply.

    A negative amount, a currency other than the company's, or consuming credit
    for an order that never reserved any.
    """


class UnknownToken(StoreError):
    """No API token has this id."""


class UnknownSupplier(StoreError):
    """No supplier has this id."""


class NoSupplier(StoreError):
    """The SKU is not linked to any supplier, so no purchase order can be raised."""


class UnknownPurchaseOrder(StoreError):
    """No purchase order (or replenishment episode) has this id."""


class OverDelivery(StoreError):
    """A receipt would book more units than the purchase order line still expects."""


class CurrencyMismatch(StoreError):
    """The catalogue prices a product in another currency than the one asked for."""


class CreditNoteRefused(StoreError):
    """A credit note for more than the order's invoices minus what was already credited."""


class PaymentReferenceReused(StoreError):
    """A company payment reference already recorded with another amount."""
