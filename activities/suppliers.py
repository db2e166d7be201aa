"""Supplier activities: send a purchase order (or a reminder) through the supplier's channel.

The channel is an adapter behind ``SupplierChannel``: today email with the
order attached as CSV (``activities.adapters.supplier_email``); an HTTP or
EDI supplier is another class with the same ``send``.
"""

from __future__ import annotations

from typing import Protocol

from temporalio import activity

from oms.models.replenishment import SupplierMessage, SupplierMessageResult


class SupplierChannel(Protocol):
    """How purchase orders reach suppliers. ``send`` is idempotent on ``message.key``."""

    def send(self, message: SupplierMessage) -> SupplierMessageResult: ...


class SupplierActivities:
    """Activities over one supplier channel; register on a worker with an ``activity_executor``."""

    def __init__(self, channel: SupplierChannel) -> None:
        self._channel = channel

    @activity.defn(name="supplier.send")
    def send(self, message: SupplierMessage) -> SupplierMessageResult:
        """Send the purchase order (or a reminder of it) to its supplier, once per key.

        Raises ``ApplicationError`` ``EmailRejected`` / ``TemplateError``
        (non-retryable) from the email channel; a supplier that cannot be
        reached now raises a retryable error.
        """
        return self._channel.send(message)
