"""Workflow ids of every kind, and the ids the OMS derives from another object's.

Pure functions: the API, the workflows and the tools all name workflows through them.
"""

from __future__ import annotations

import hashlib


def business_id(workflow_id: str) -> str:
    """The object a workflow id names (``order-A-1`` -> ``A-1``), for advice that names it."""
    return workflow_id.split("-", 1)[1] if "-" in workflow_id else workflow_id


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


def shipment_workflow_id(shipment_id: str) -> str:
    return f"shipment-{shipment_id}"


def quote_workflow_id(quote_id: str) -> str:
    return f"quote-{quote_id}"


def return_workflow_id(rma_id: str) -> str:
    return f"return-{rma_id}"


def order_id_for(quote_id: str) -> str:
    """The order an accepted quote becomes."""
    return f"{quote_id}-O"


def exchange_order_id(rma_id: str) -> str:
    """The replacement order's id (order ids are at most 64 characters)."""
    return f"{rma_id}-X"[-64:].lstrip("-_")


def order_refund_workflow_id(order_id: str, key: str) -> str:
    """The workflow of one refund without a return: the request key, hashed (a caller's
    key may hold any characters and be long)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"order-refund-{order_id}-{digest}"


def subscription_workflow_id(subscription_id: str) -> str:
    return f"subscription-{subscription_id}"
