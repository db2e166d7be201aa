"""The stuck-finder's two queries select the same workflows, for every step of every kind.

One bare workflow per step and side of its deadline is started on a real dev server with
the search attributes the tracker sets (``oms.domain.lifecycle.attributes``), on a task
queue no worker polls, so they stay running; then the deadline query and the stage query
must list the same ids. An escalated approval (clock restarted) is one of the cases.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from oms import search_attributes as sa
from oms.domain.lifecycle import LIFECYCLES, attributes, deadline_query, limits_from, stage_query
from oms.settings import Settings

KEYS: dict[str, SearchAttributeKey[Any]] = {
    "OrderStatus": sa.ORDER_STATUS,
    "OmsStage": sa.STAGE,
    "OmsWaitingFor": sa.WAITING_FOR,
    "OmsWaitingSince": sa.WAITING_SINCE,
    "OmsDeadline": sa.DEADLINE,
}


def _cases(now: datetime, limits: dict[str, int]) -> list[tuple[str, dict[str, Any], bool]]:
    """(kind, search attributes, overdue?) for every step, just past and well before due."""
    cases = []
    for kind, lifecycle in LIFECYCLES.items():
        for step in lifecycle.steps:
            for overdue in (True, False):
                limit = step.clock.limit(limits) if step.clock else None
                if step.clock is not None and limit is not None:
                    start = (
                        now - timedelta(seconds=limit) + timedelta(seconds=-5 if overdue else 60)
                    )
                    values = attributes(step, now, limits, clock_start=start)
                else:
                    due = now + timedelta(seconds=-5 if overdue else 60)
                    values = attributes(step, now - timedelta(days=1), limits, deadline=due)
                # A step without a clock is never overdue, whatever its age.
                cases.append((kind, values, overdue and values["OmsDeadline"] is not None))
    return cases


async def test_deadline_and_stage_queries_find_the_same_overdue_workflows(
    temporal_client: Client,
) -> None:
    settings = Settings()
    limits = limits_from(settings)
    now = datetime.now(UTC)
    queue = f"lifecycle-{uuid.uuid4().hex[:8]}"
    expected: set[str] = set()
    started = []
    try:
        await _check(temporal_client, now, limits, queue, expected, started)
    finally:
        # Parked workflows would be stuck ones for the other tests on this server.
        for handle in started:
            await handle.terminate("lifecycle query test finished")


async def _check(
    temporal_client: Client,
    now: datetime,
    limits: dict[str, int],
    queue: str,
    expected: set[str],
    started: list[Any],
) -> None:
    n = -1
    for n, (kind, values, overdue) in enumerate(_cases(now, limits)):
        pairs = [SearchAttributePair(sa.KIND, kind)]
        pairs += [SearchAttributePair(KEYS[k], v) for k, v in values.items() if v is not None]
        workflow_id = f"{queue}-{n}-{kind}-{values['OrderStatus']}-{values['OmsStage']}"
        started.append(
            await temporal_client.start_workflow(
                "Parked",
                id=workflow_id,
                task_queue=queue,
                search_attributes=TypedSearchAttributes(pairs),
            )
        )
        if overdue:
            expected.add(workflow_id)
    assert len(expected) > 20  # every kind has overdue steps

    mine = f"TaskQueue = '{queue}'"
    # Visibility is eventually consistent: wait until every started workflow is listed.
    for _ in range(100):
        if (await temporal_client.count_workflows(mine)).count == n + 1:
            break
        await asyncio.sleep(0.05)
    by_deadline = {
        wf.id async for wf in temporal_client.list_workflows(f"{deadline_query(now)} AND {mine}")
    }
    by_stage = {
        wf.id
        async for wf in temporal_client.list_workflows(f"{stage_query(now, limits)} AND {mine}")
    }
    assert by_deadline == expected
    assert by_stage == expected
