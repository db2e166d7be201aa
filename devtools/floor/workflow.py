"""The benchmark's floor: what a workflow costs on this server and worker with no business logic.

``FloorWorkflow`` runs K no-op activities in sequence, K being the number of
activities one real order executes, so ``oms bench`` can report the order
pipeline's throughput as a fraction of it. ``ParkedFloorWorkflow`` upserts one
search attribute and waits for a signal: what parking a workflow costs, against
which parked orders are measured.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from devtools.floor.activities import FloorActivities
    from devtools.floor.models import FloorInput, FloorResult, FloorStep
    from oms.search_attributes import STAGE

FLOOR_QUEUE = "bench-floor"
# OmsStage of a parked bare workflow; no OmsKind or deadline, so /ops/stuck never lists it.
PARKED_STAGE = "bench_parked"
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


@workflow.defn(name="ParkedFloorWorkflow")
class ParkedFloorWorkflow:
    """Upserts ``OmsStage`` once, then waits for :meth:`release`: a bare parked workflow."""

    def __init__(self) -> None:
        self._released = False

    @workflow.run
    async def run(self, inp: FloorInput) -> FloorResult:
        workflow.upsert_search_attributes([STAGE.value_set(PARKED_STAGE)])
        await workflow.wait_condition(lambda: self._released)
        return FloorResult(activities=0, finished_at=workflow.now())

    @workflow.signal
    def release(self, step: FloorStep) -> None:
        self._released = True
