"""Supplier channel by email: the purchase order as a message with a CSV attachment.

Sent through the email outbox (``EmailActivities.send``), so each order and
reminder is sent per business key like every other OMS email: never lost, never
again once recorded sent, at worst repeated with the same ``Message-ID``.
"""

from __future__ import annotations

from collections.abc import Callable

from oms.domain.replenishment import purchase_order_csv
from oms.models.notifications import EmailAttachment, EmailRequest, EmailResult
from oms.models.replenishment import SupplierMessage, SupplierMessageResult

TEMPLATES = {"purchase_order": "purchase_order", "reminder": "purchase_order_reminder"}


class EmailSupplier:
    """Sends purchase orders to the supplier's email address, the order attached as CSV."""

    def __init__(self, send_email: Callable[[EmailRequest], EmailResult], buyer: str) -> None:
        self._send_email = send_email
        self._buyer = buyer

    def send(self, message: SupplierMessage) -> SupplierMessageResult:
        """Email the order or reminder; raises what the email outbox raises."""
        po = message.po
        context = {
            "po_id": po.po_id,
            "buyer": self._buyer,
            "supplier": po.supplier.name,
            "warehouse": po.warehouse_id,
            "lines": [ln.model_dump(mode="json") for ln in po.lines],
            "units": sum(ln.quantity for ln in po.lines),
            "lead_time_days": po.supplier.lead_time_days,
        }
        result = self._send_email(
            EmailRequest(
                key=message.key,
                to=po.supplier.email,
                template=TEMPLATES[message.kind],
                context=context,
                attachments=[
                    EmailAttachment(
                        filename=f"{po.po_id}.csv",
                        content_type="text/csv",
                        content=purchase_order_csv(po),
                    )
                ],
            )
        )
        return SupplierMessageResult(
            key=message.key, channel="email", already_sent=result.already_sent
        )
