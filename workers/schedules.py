"""Temporal Schedules the OMS needs, created by the worker at start-up when missing.

``oms-low-stock-scan`` (prefixed with the deployment's task queue prefix)
starts ``LowStockScanWorkflow`` on ``OMS_LOW_STOCK_SCAN_CRON`` (UTC; default
06:00 daily). An existing schedule is left as it is, so a schedule an
operator paused or changed in the UI stays that way; delete it to have the
next worker start-up recreate it from the settings.
"""

from __future__ import annotations

import logging

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from oms.settings import WORKFLOW_QUEUE, Settings
from workflows.low_stock import SCHEDULE_ID, LowStockScanWorkflow, ScanInput

log = logging.getLogger("oms.worker")


def low_stock_schedule_id(settings: Settings) -> str:
    return f"{settings.task_queue_prefix}{SCHEDULE_ID}"


async def ensure_low_stock_schedule(client: Client, settings: Settings) -> bool:
    """Create the daily low-stock scan schedule unless it exists; True when created now.

    Does nothing when ``settings.low_stock_scan_cron`` is empty.
    """
    if not settings.low_stock_scan_cron:
        return False
    schedule_id = low_stock_schedule_id(settings)
    try:
        await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    LowStockScanWorkflow.run,
                    ScanInput(task_queue_prefix=settings.task_queue_prefix),
                    id=f"{schedule_id}-run",
                    task_queue=settings.queue(WORKFLOW_QUEUE),
                ),
                spec=ScheduleSpec(cron_expressions=[settings.low_stock_scan_cron]),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
    except ScheduleAlreadyRunningError:
        return False
    log.info("created schedule %s (%s)", schedule_id, settings.low_stock_scan_cron)
    return True
