"""LowStockScanWorkflow: the daily scan, run by the Temporal Schedule ``oms-low-stock-scan``.

One activity opens an episode for every SKU at or below its reorder point and
starts each open episode's ``ReplenishmentWorkflow`` (already running ones are
left alone). It catches what the check after each reservation cannot: stock
lowered by hand, a policy raised above the current level, or a start that
failed. The worker creates the schedule at start-up if it is missing.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.replenishment import ReplenishmentActivities
    from oms.models.replenishment import ScanRequest, ScanResult
    from oms.queues import INVENTORY_QUEUE
    from workflows import policies

SCHEDULE_ID = "oms-low-stock-scan"


class ScanInput(ScanRequest):
    """What the schedule starts the scan with: the task queue prefix of this deployment."""

    task_queue_prefix: str = ""


@workflow.defn(name="LowStockScanWorkflow")
class LowStockScanWorkflow:
    @workflow.run
    async def run(self, inp: ScanInput) -> ScanResult:
        result = await workflow.execute_activity_method(
            ReplenishmentActivities.scan,
            ScanRequest(reason=inp.reason),
            task_queue=inp.task_queue_prefix + INVENTORY_QUEUE,
            # Starting many workflows takes a while; the scan is safe to repeat.
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=policies.STORE.retry,
            summary="open episodes and start replenishments",
        )
        workflow.set_current_details(
            f"**Low-stock scan**: {len(result.workflow_ids)} open replenishment(s)\n\n"
            + "\n".join(f"- {wid}" for wid in result.workflow_ids)
        )
        return result
