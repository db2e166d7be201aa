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
ALL_QUEUES = (
    WORKFLOW_QUEUE,
    INVENTORY_QUEUE,
    CARRIER_QUEUE,
    EMAIL_QUEUE,
    PAYMENTS_QUEUE,
    WEBHOOKS_QUEUE,
)
