"""The store's business rejections as Temporal sees them.

A ``StoreError`` (an unknown SKU, company or purchase order, a movement the
ledger refuses) cannot succeed on a retry: it becomes a non-retryable
``ApplicationError`` whose ``type`` is the exception's class name, which is
what workflows and the API match on. Anything else (a database error)
propagates, so Temporal retries it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from temporalio.exceptions import ApplicationError

from oms.store.errors import StoreError

T = TypeVar("T")


def rejected(exc: Exception, name: str | None = None) -> ApplicationError:
    """``exc`` as a business rejection: a non-retryable ``ApplicationError`` whose ``type``
    is ``name`` (default: the exception's class name), for the caller to raise."""
    return ApplicationError(str(exc), type=name or type(exc).__name__, non_retryable=True)


def translated(call: Callable[[], T]) -> T:
    """``call()``; raises ``ApplicationError`` (non-retryable) for a ``StoreError``."""
    try:
        return call()
    except StoreError as exc:
        raise rejected(exc) from exc
