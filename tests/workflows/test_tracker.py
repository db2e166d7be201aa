"""The lifecycle tracker's guarantees, read off the histories of a delivered order.

The read model is written by local activities only, at most once per workflow task and
never in a task that accepted an update (an update exists only once that task commits);
search attributes are upserted only where they change; the parent hears milestones only.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle, WorkflowHistory

from oms.models.orders import OrderStatus
from tests.workflows.harness import Harness, patches, tick
from workflows.tracker import (
    LIFECYCLE_PATCH,
    SETTLE_PATCH,
    WAKE_ON_CHANGE_PATCH,
    WRITES_PER_TASK,
    next_version,
)

pytestmark = pytest.mark.timeout(120)

RECORD_ACTIVITIES = {"orders.record_order", "orders.record_shipment", "orders.record_views"}
E = EventType


def _is_write(event: HistoryEvent) -> bool:
    return (
        event.event_type == E.EVENT_TYPE_MARKER_RECORDED
        and event.marker_recorded_event_attributes.marker_name == "core_local_activity"
    )


def _tasks(history: WorkflowHistory) -> list[list[HistoryEvent]]:
    """The events each completed workflow task wrote (its commands), task by task."""
    tasks: list[list[HistoryEvent]] = []
    current: list[HistoryEvent] | None = None
    for event in history.events:
        if event.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            current = []
            tasks.append(current)
        elif event.event_type == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            current = None
        elif current is not None:
            current.append(event)
    return tasks


async def _delivered_order(harness: Harness) -> tuple[str, WorkflowHandle[Any, Any]]:
    """An order with one shipment, picked, packed and delivered to ``completed``."""
    order_id = f"L-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id))
    # The pick waits for the shipment's first task, which the checks below read alone: a
    # pick sent before it ran would land in it (a busy machine's timing, not the tracker's).
    ship = await harness.shipment(f"{order_id}-S1")
    for _ in range(200):
        history = await ship.fetch_history()
        if any(e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in history.events):
            break
        await tick()
    else:
        raise AssertionError("the shipment's first workflow task never completed")
    await harness.deliver(f"{order_id}-S1")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    return order_id, handle


async def _histories(harness: Harness, order_id: str) -> dict[str, WorkflowHistory]:
    ids = (f"order-{order_id}", f"shipment-{order_id}-S1")
    return {wid: await harness.client.get_workflow_handle(wid).fetch_history() for wid in ids}


async def test_the_read_model_is_written_locally_at_most_once_per_task(harness: Harness) -> None:
    order_id, _ = await _delivered_order(harness)
    histories = await _histories(harness, order_id)
    for workflow_id, history in histories.items():
        scheduled = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in history.events
            if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]
        assert scheduled, workflow_id  # the business steps are still ordinary activities
        assert not RECORD_ACTIVITIES & set(scheduled), workflow_id
        writes = [sum(map(_is_write, task)) for task in _tasks(history)]
        assert sum(writes) >= 3, workflow_id
        assert max(writes) == 1, (workflow_id, writes)
    assert LIFECYCLE_PATCH in patches(histories[f"order-{order_id}"])
    # The last write is the final state.
    assert harness.world.orders[order_id].status == OrderStatus.COMPLETED
    assert harness.world.shipments[f"{order_id}-S1"].status == "delivered"
    assert harness.world.shipments[f"{order_id}-S1"].picked_by == "Lisa"


async def test_a_write_carries_every_change_its_task_made(harness: Harness) -> None:
    """The order's status moves when its main loop hears a shipment's milestone; the
    tracker, woken by the same milestone, must write after that move, not before it (the
    read model would show the old status until the order's next change)."""
    order_id, _ = await _delivered_order(harness)
    for workflow_id, history in (await _histories(harness, order_id)).items():
        assert SETTLE_PATCH in patches(history), workflow_id
        for task in _tasks(history):
            kinds = [
                "write" if _is_write(e) else "upsert"
                for e in task
                if _is_write(e) or e.event_type == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
            ]
            # Every search attribute a task changes shows in the view it wrote: none is
            # upserted after the task's write.
            after_write = kinds[kinds.index("write") + 1 :] if "write" in kinds else []
            assert "upsert" not in after_write, (workflow_id, [e.event_type for e in task])


async def test_no_write_rides_in_a_task_that_accepted_an_update_and_no_commit_timer(
    harness: Harness,
) -> None:
    order_id, _ = await _delivered_order(harness)
    history = (await _histories(harness, order_id))[f"shipment-{order_id}-S1"]
    accepting = [
        task
        for task in _tasks(history)
        if any(e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED for e in task)
    ]
    assert len(accepting) == 2  # the pick and the pack
    for task in accepting:
        assert not any(map(_is_write, task)), [e.event_type for e in task]
    # ... and no timer ends those tasks early: the write waits for the next durable step.
    # The one timer is the pick SLA's.
    timers = [e for e in history.events if e.event_type == E.EVENT_TYPE_TIMER_STARTED]
    assert len(timers) == 1


async def test_search_attributes_change_only_where_a_value_changes(harness: Harness) -> None:
    order_id, _ = await _delivered_order(harness)
    for workflow_id, history in (await _histories(harness, order_id)).items():
        upserts = [
            e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            for e in history.events
            if e.event_type == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
        ]
        for fields in upserts:
            # None repeats what the start set once (kind, customer, warehouse)...
            assert not {"OmsKind", "OmsCustomerId", "OmsChannel", "OmsWarehouse"} & set(fields)
        # ... and the shipment's first task, started picking by the order, commands only
        # its tracker's patch (a marker, and Temporal's TemporalChangeVersion upsert) and
        # its pick SLA timer: no upsert of ours, no write.
        if workflow_id.startswith("shipment-"):
            first = _tasks(history)[0]
            assert [e.event_type for e in first] == [
                E.EVENT_TYPE_MARKER_RECORDED,
                E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
                E.EVENT_TYPE_MARKER_RECORDED,
                E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
                E.EVENT_TYPE_TIMER_STARTED,
            ], first
            assert set(upserts[0]) == set(upserts[1]) == {"TemporalChangeVersion"}
            assert patches(history) == [WAKE_ON_CHANGE_PATCH, SETTLE_PATCH]


async def test_the_order_hears_only_the_shipments_milestones(harness: Harness) -> None:
    order_id, _ = await _delivered_order(harness)
    history = (await _histories(harness, order_id))[f"order-{order_id}"]
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert signals == ["shipment_milestone"]  # shipped; delivered is the child's result


def test_versions_rise_within_one_workflow_task() -> None:
    first = next_version(0, 12)
    second = next_version(first, 12)
    assert first == 12 * WRITES_PER_TASK
    assert second == first + 1


def test_a_retried_task_outranks_every_write_of_the_task_it_replaces() -> None:
    # Committed: a task that started at history length 20 and wrote once.
    committed = next_version(0, 20)
    # Lost: the next task started at 26 and its worker died before completing it, so none
    # of it is in the history, but its write (and a caller's record) are in the database.
    lost = next_version(next_version(committed, 26), 26)
    # The retry starts from the committed state, at least three events later (the timed
    # out task, the new task scheduled and started), and may reach "completed" at once.
    assert next_version(committed, 29) > lost


def test_a_run_that_counted_versions_keeps_rising() -> None:
    # Quotes and returns of 0.1 counted writes (1, 2, 3 ...).
    assert next_version(7, 30) > 7
    assert next_version(10**6, 30) == 10**6 + 1
