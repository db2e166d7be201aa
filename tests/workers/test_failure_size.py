"""An activity's failure reaches Temporal whole: its message, not "Failure exceeds size
limit.".

The hole: the server keeps a pending activity's last failure only up to 4 KB, and the SDK
sends the stack trace of every exception in the cause chain. A carrier refusing
connections (our error from httpx's from httpcore's) came to about 9 KB, so ``/ops/stuck``
and the Temporal UI showed "Failure exceeds size limit." where the runbook promises the
carrier's error (``oms.failures`` trims what Temporal gets; the worker's log keeps all).
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import timedelta

import httpx
from temporalio import activity, workflow
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from oms.client import data_converter
from oms.failures import BUDGET, CAUSES, MESSAGE_CHARS
from oms.settings import Settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = _closed_port()


@activity.defn(name="test.unreachable")
async def unreachable() -> None:
    """What the HTTP carrier adapter and the carrier activities do when nothing listens."""
    try:
        async with httpx.AsyncClient() as http:
            await http.get(f"http://127.0.0.1:{PORT}/v1/rates")
    except httpx.TransportError as exc:
        raise ApplicationError(
            f"carrier unreachable on POST /v1/rates: {exc!r}", type="CarrierUnavailable"
        ) from exc


@workflow.defn(name="test.CallsTheCarrier", sandboxed=False)
class CallsTheCarrier:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(
            unreachable,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=30)),
        )


async def _last_failure(client: Client, workflow_id: str) -> Failure:
    handle = client.get_workflow_handle(workflow_id)
    for _ in range(100):
        described = await handle.describe()
        pending = described.raw_description.pending_activities
        if pending and pending[0].HasField("last_failure"):
            return pending[0].last_failure
        await asyncio.sleep(0.05)
    raise AssertionError("the activity never failed")


async def test_an_unreachable_carriers_error_reaches_temporal_whole(
    temporal_client: Client,
) -> None:
    queue = f"failure-size-{uuid.uuid4().hex[:8]}"
    async with Worker(
        temporal_client,
        task_queue=queue,
        workflows=[CallsTheCarrier],
        activities=[unreachable],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await temporal_client.start_workflow(
            CallsTheCarrier.run, id=f"failure-size-{uuid.uuid4().hex}", task_queue=queue
        )
        try:
            failure = await _last_failure(temporal_client, handle.id)
        finally:
            await handle.terminate("done")
    assert failure.message.startswith("carrier unreachable on POST /v1/rates: ConnectError("), (
        failure.message
    )
    assert failure.application_failure_info.type == "CarrierUnavailable"
    assert failure.cause.message  # the chain's messages stay: httpx's error under ours
    assert failure.ByteSize() <= BUDGET


def test_a_long_chain_is_trimmed_to_the_budget_keeping_types_and_messages() -> None:
    def chain(depth: int) -> BaseException:
        try:
            if depth == 0:
                raise OSError("x" * 5000)
            raise ValueError(f"level {depth} " + "y" * 3000) from chain(depth - 1)
        except BaseException as exc:
            return exc

    failure = Failure()
    data_converter(Settings()).failure_converter.to_failure(
        chain(8), data_converter(Settings()).payload_converter, failure
    )
    assert failure.ByteSize() <= BUDGET
    assert failure.message.startswith("level 8 ") and len(failure.message) <= MESSAGE_CHARS
    assert failure.application_failure_info.type == "ValueError"
    causes, cause = 0, failure
    while cause.HasField("cause"):
        cause, causes = cause.cause, causes + 1
        assert cause.stack_trace == ""
    assert causes <= CAUSES
