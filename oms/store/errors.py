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


class StockBelowReserved(StoreError):
    """Setting on-hand stock below the units already reserved would oversell."""
