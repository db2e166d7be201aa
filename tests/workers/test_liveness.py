"""The workers heartbeat running activities, so a dead worker's attempt is retried soon.

Driven on the real dev server: a blocking (thread-pool) activity that never heartbeats
itself shows heartbeats on the server while it runs; an activity that heartbeats itself
keeps its own details; and an attempt whose worker process is SIGKILLed is retried after
the heartbeat timeout (its history says so), long before its ``start_to_close``.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import TimeoutType
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from oms.queues import QUEUE_NAMES
from oms.settings import Settings
from oms.store.db import Database
from workers import adapters
from workers.liveness import HeartbeatWhileRunning
from workers.main import build_workers

pytestmark = pytest.mark.timeout(120)

release = threading.Event()
attempts: list[int] = []


@activity.defn(name="liveness.block")
def block(seconds: float) -> int:
    """Blocks its thread (like a store or SMTP call) until released, never heartbeating."""
    attempt = activity.info().attempt
    attempts.append(attempt)
    if attempt == 1:
        release.wait(seconds)
    return attempt


@activity.defn(name="liveness.own")
def own(seconds: float) -> str:
    """Heartbeats with its own details until released (an activity reporting progress)."""
    activity.heartbeat("mine")
    while not release.wait(0.5):
        activity.heartbeat("mine")
    return f"done in attempt {activity.info().attempt}"


@workflow.defn(name="LivenessProbe")
class Probe:
    @workflow.run
    async def run(self, activities: str) -> str:
        """Runs ``liveness.block`` (or ``liveness.own`` on this queue when asked for)."""
        name, queue = "liveness.block", activities
        if activities == "own":
            name, queue = "liveness.own", workflow.info().task_queue
        result = await workflow.execute_activity(
            name,
            30.0,
            task_queue=queue,
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=3),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )
        return str(result)


def _worker(client: Client, queue: str, executor: ThreadPoolExecutor) -> Worker:
    # The probe workflow is not under test (the activities' heartbeats are), and its module
    # imports the OMS: the sandbox would re-import that for the probe.
    return Worker(
        client,
        task_queue=queue,
        workflows=[Probe],
        workflow_runner=UnsandboxedWorkflowRunner(),
        activities=[block, own],
        activity_executor=executor,
        interceptors=[HeartbeatWhileRunning()],
    )


async def _pending(handle: WorkflowHandle) -> PendingActivityInfo:
    for _ in range(100):
        pending = (await handle.describe()).raw_description.pending_activities
        if pending and pending[0].HasField("last_heartbeat_time"):
            return pending[0]
        await asyncio.sleep(0.1)
    raise AssertionError("no heartbeat reached the server")


async def test_a_blocking_activity_is_heartbeaten_and_one_that_beats_itself_keeps_its_details(
    temporal_client: Client,
) -> None:
    release.clear()
    queue = f"liveness-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(4) as executor:
        async with _worker(temporal_client, queue, executor):
            blocked = await temporal_client.start_workflow(
                Probe.run, queue, id=f"{queue}-block", task_queue=queue
            )
            beating = await temporal_client.start_workflow(
                Probe.run, "own", id=f"{queue}-own", task_queue=queue
            )
            first = await _pending(blocked)
            assert first.attempt == 1
            # The heartbeats go on while the thread is blocked, past the 3 s heartbeat timeout.
            await asyncio.sleep(4)
            again = await _pending(blocked)
            assert again.last_heartbeat_time.ToDatetime() > first.last_heartbeat_time.ToDatetime()
            mine = await _pending(beating)
            details = mine.heartbeat_details.payloads
            assert await temporal_client.data_converter.decode(details) == ["mine"]
            release.set()
            assert await blocked.result() == "1"
            assert await beating.result() == "done in attempt 1"


# A worker process that runs the first attempt and is then killed with SIGKILL.
_DOOMED_WORKER = """
import asyncio, sys, time
from concurrent.futures import ThreadPoolExecutor
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker
from oms.client import data_converter
from oms.settings import Settings
from workers.liveness import HeartbeatWhileRunning

@activity.defn(name="liveness.block")
def block(seconds: float) -> int:
    print("running", flush=True)
    time.sleep(600)
    return 0

async def main() -> None:
    client = await Client.connect(sys.argv[1], data_converter=data_converter(Settings()))
    with ThreadPoolExecutor(2) as executor:
        await Worker(client, task_queue=sys.argv[2], activities=[block],
                     activity_executor=executor, interceptors=[HeartbeatWhileRunning()]).run()

asyncio.run(main())
"""


async def test_an_attempt_whose_worker_was_killed_is_retried_after_the_heartbeat_timeout(
    temporal_client: Client,
) -> None:
    release.clear()
    attempts.clear()
    queue = f"liveness-{uuid.uuid4().hex[:8]}"
    activities = f"{queue}-acts"
    target = temporal_client.service_client.config.target_host
    doomed = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _DOOMED_WORKER, target, activities, stdout=asyncio.subprocess.PIPE
    )
    try:
        async with Worker(
            temporal_client,
            task_queue=queue,
            workflows=[Probe],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            handle = await temporal_client.start_workflow(
                Probe.run, activities, id=f"{queue}-dead", task_queue=queue
            )
            assert doomed.stdout is not None
            assert (await asyncio.wait_for(doomed.stdout.readline(), 30)) == b"running\n"
            await _pending(handle)
            doomed.kill()
            await doomed.wait()
            loop = asyncio.get_running_loop()
            killed = loop.time()
            with ThreadPoolExecutor(2) as executor:
                async with Worker(
                    temporal_client,
                    task_queue=activities,
                    activities=[block],
                    activity_executor=executor,
                    interceptors=[HeartbeatWhileRunning()],
                ):
                    assert await handle.result() == "2"
            waited = loop.time() - killed
    finally:
        if doomed.returncode is None:
            doomed.kill()
    # The second attempt ran after the 3 s heartbeat timeout, not the 60 s start_to_close.
    assert attempts == [2]
    assert waited < 30, waited
    started = [
        e.activity_task_started_event_attributes
        for e in (await handle.fetch_history()).events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert [s.attempt for s in started] == [2]
    timeout = started[0].last_failure.timeout_failure_info
    assert timeout.timeout_type == TimeoutType.TIMEOUT_TYPE_HEARTBEAT


async def test_every_worker_the_oms_runs_heartbeats_its_activities(
    temporal_client: Client, sqlite_url: str
) -> None:
    """The policies give store and remote calls a heartbeat timeout: a worker without the
    interceptor would time every attempt longer than that out."""
    settings = Settings(database_url=sqlite_url)
    db = Database(sqlite_url)
    try:
        with ThreadPoolExecutor(settings.max_concurrent_activities) as executor:
            workers = build_workers(
                temporal_client,
                settings,
                list(QUEUE_NAMES),
                db,
                adapters.carrier(settings),
                executor,
            )
    finally:
        db.dispose()
    assert len(workers) == len(QUEUE_NAMES)
    for worker in workers:
        interceptors = worker.config().get("interceptors") or []
        assert any(isinstance(i, HeartbeatWhileRunning) for i in interceptors)
