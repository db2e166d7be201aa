"""Task queue names: one for workflows, one per external system.

A module of constants only, so workflow code can name queues without importing
the settings machinery. Each deployment may prefix them (``OMS_TASK_QUEUE_PREFIX``)
so several stacks, or several tests, share one Temporal server.
"""

from __future__ import annotations

WORKFLOW_QUEUE = "oms-workflows"
INVENTORY_QUEUE = "oms-inventory"
CARRIER_QUEUE = "oms-carrier"
EMAIL_QUEUE = "oms-email"
PAYMENTS_QUEUE = "oms-payments"
# Outbound webhook deliveries: a slow receiver holds only this queue's slots.
WEBHOOKS_QUEUE = "oms-webhooks"
# Each queue by the name a worker is told to serve it (``oms worker --queues``).
QUEUE_NAMES = {
    "workflows": WORKFLOW_QUEUE,
    "inventory": INVENTORY_QUEUE,
    "carrier": CARRIER_QUEUE,
    "email": EMAIL_QUEUE,
    "payments": PAYMENTS_QUEUE,
    "webhooks": WEBHOOKS_QUEUE,
}
ALL_QUEUES = tuple(QUEUE_NAMES.values())
