"""The read-model writes run as local activities behind the ``read-model-local`` patch.

The recorded histories in tests/histories prove that orders started before the patch
still replay on the old path; these tests prove the new path and its version rule.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowHistory

from oms.models.orders import OrderStatus
from tests.workflows.harness import Harness
from workflows.order import SHIPMENT_PLACEHOLDER_PATCH
from workflows.read_model import PATCH_ID, UPDATE_COMMIT_PATCH, WRITES_PER_TASK, next_version

pytestmark = pytest.mark.timeout(120)

RECORD_ACTIVITIES = {"orders.record_order", "orders.record_shipment"}


def _scheduled(history: WorkflowHistory) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


def _markers(history: WorkflowHistory) -> list[str]:
    return [
        e.marker_recorded_event_attributes.marker_name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]


def _patches(history: WorkflowHistory) -> list[str]:
    """Ids of the patches the run took, from its ``core_patch`` markers."""
    ids = []
    for e in history.events:
        marker = e.marker_recorded_event_attributes
        if marker.marker_name == "core_patch":
            for payloads in marker.details.values():
                ids.extend(json.loads(p.data)["id"] for p in payloads.payloads)
    return ids


async def _delivered_order(harness: Harness) -> tuple[str, WorkflowHandle[Any, Any]]:
    """An order with one shipment, picked, packed and delivered to ``completed``."""
    order_id = f"L-{uuid.uuid4().hex[:6]}"
    handle = await harness.start(harness.order_input(order_id))
    await harness.deliver(f"{order_id}-S1")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    return order_id, handle


async def test_new_orders_write_the_read_model_without_server_activities(
    harness: Harness,
) -> None:
    order_id, handle = await _delivered_order(harness)

    for workflow_id in (handle.id, f"shipment-{order_id}-S1"):
        history = await harness.client.get_workflow_handle(workflow_id).fetch_history()
        scheduled = _scheduled(history)
        assert scheduled, workflow_id  # the business steps are still ordinary activities
        assert not RECORD_ACTIVITIES & set(scheduled), workflow_id
        markers = _markers(history)
        assert "core_local_activity" in markers, workflow_id
        assert PATCH_ID in _patches(history), workflow_id
    assert SHIPMENT_PLACEHOLDER_PATCH in _patches(
        await harness.client.get_workflow_handle(handle.id).fetch_history()
    )
    # The local writes reached the read model, the last one being the final state.
    assert harness.world.orders[order_id].status == OrderStatus.COMPLETED
    assert harness.world.shipments[f"{order_id}-S1"].status == "delivered"


def test_versions_rise_within_one_workflow_task() -> None:
    first = next_version(0, 12)
    second = next_version(first, 12)
    assert first == 12 * WRITES_PER_TASK
    assert second == first + 1


def test_a_retried_task_outranks_every_write_of_the_task_it_replaces() -> None:
    # Committed: a task that started at history length 20 and wrote twice.
    committed = next_version(next_version(0, 20), 20)
    # Lost: the next task started at 26, wrote five times, and its worker died before
    # completing it, so none of it is in the history, but its writes are in the database.
    lost = [next_version(committed, 26)]
    for _ in range(4):
        lost.append(next_version(lost[-1], 26))
    # The retry starts from the committed state, at least three events later (the timed
    # out task, the new task scheduled and started), and may reach "completed" at once.
    retried = next_version(committed, 29)
    assert retried > max(lost)


def test_a_run_that_counted_versions_before_the_patch_keeps_rising() -> None:
    # Before the patch a version was a count of writes (1, 2, 3 ...).
    assert next_version(7, 30) > 7
    assert next_version(10**6, 30) == 10**6 + 1


async def test_a_pick_or_pack_reaches_the_read_model_only_after_its_update_committed(
    harness: Harness,
) -> None:
    order_id, _ = await _delivered_order(harness)

    history = await harness.client.get_workflow_handle(f"shipment-{order_id}-S1").fetch_history()
    events = [e.event_type for e in history.events]
    accepted = [
        i
        for i, t in enumerate(events)
        if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert len(accepted) == 2  # the pick and the pack
    for i in accepted:
        # The next read-model write (a local-activity marker) comes after a timer fired,
        # i.e. in a later task than the one that accepted the update: if that task is
        # lost, so is the write, and the fired timer's task repeats it.
        write = next(
            j
            for j in range(i, len(events))
            if events[j] == EventType.EVENT_TYPE_MARKER_RECORDED
            and history.events[j].marker_recorded_event_attributes.marker_name
            == "core_local_activity"
        )
        assert EventType.EVENT_TYPE_TIMER_FIRED in events[i:write], (i, write)
    assert UPDATE_COMMIT_PATCH in _patches(history)
