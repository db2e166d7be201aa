"""The benchmark's floor: what a workflow costs on this server and worker with no business logic.

``FloorWorkflow`` runs K no-op activities in sequence, K being the number of
activities one real order executes, so ``oms bench`` can report the order
pipeline's throughput as a fraction of it. ``BenchStartWorkflow`` does nothing
at all: the bench starts it to measure a raw ``start_workflow``.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.floor import FloorActivities
    from oms.models.floor import FloorInput, FloorResult, FloorStep

FLOOR_QUEUE = "bench-floor"
NOOP_TIMEOUT = timedelta(seconds=30)
NOOP_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=5)
)


@workflow.defn(name="FloorWorkflow")
class FloorWorkflow:
    """K no-op activities, one after another, on the workflow's own task queue."""

    @workflow.run
    async def run(self, inp: FloorInput) -> FloorResult:
        for n in range(inp.activities):
            await workflow.execute_activity_method(
                FloorActivities.noop,
                FloorStep(n=n),
                start_to_close_timeout=NOOP_TIMEOUT,
                retry_policy=NOOP_RETRY,
            )
        return FloorResult(activities=inp.activities, finished_at=workflow.now())


@workflow.defn(name="BenchStartWorkflow")
class BenchStartWorkflow:
    """Completes at once: the cost of starting (and finishing) a workflow and nothing else."""

    @workflow.run
    async def run(self, inp: FloorInput) -> FloorResult:
        return FloorResult(activities=0, finished_at=workflow.now())
