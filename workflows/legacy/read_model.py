"""Frozen 0.1 code (see ``workflows/legacy/__init__.py``).

How order and shipment workflows publish their views to the read model.

Since the ``read-model-local`` patch the writes are **local activities**: run by
the workflow worker itself, recorded as a marker in the workflow's history, with
no schedule/start/complete round trips through the server (the largest cost per
order, see docs/benchmark.md). Workflows started before the patch keep scheduling
the same writes as ordinary activities on the inventory queue, so their recorded
histories still replay (``tests/histories``).

A local activity runs *before* its workflow task is committed. When the worker
dies mid-task, the task is retried from the last committed point, possibly with
more signals in it, so the retried run can take fewer steps to reach a state than
the lost one took, while the lost one's writes are already in the database. A
version that merely counts writes would then let a write from the lost run
outrank the real one ("completed" refused because a lost "shipped" took its
number). :func:`next_version` ranks writes by the history length their workflow
task started at instead: a retried task always starts further along the history
than the lost one, so its writes win.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.orders import ReadModelActivities
    from oms.models.orders import OrderView, RecordResult
    from oms.models.shipments import ShipmentView
    from workflows import policies

PATCH_ID = "read-model-local"

# Room for this many writes within one workflow task before the next task's range
# starts; a task writes a handful at most.
WRITES_PER_TASK = 1000

# The views the read model takes from a 0.1 run.
_View = TypeVar("_View", OrderView, ShipmentView)


def next_version(current: int, history_length: int) -> int:
    """The version of the next write: above ``current`` and above any write a lost task made.

    ``history_length`` is the length of the history when the current workflow task
    started; every write of an earlier (committed or lost) task used a smaller one.
    """
    return max(current + 1, history_length * WRITES_PER_TASK)


# Patch: after an update changes what the read model shows, a 1 ms timer ends the task
# before the write (see ``after_update``).
UPDATE_COMMIT_PATCH = "update-commits-before-read-model"


async def after_update(summary: str) -> None:
    """Let the workflow task that accepted an update commit before the read model shows
    its effect (workflow code only; call it where an update woke the run).

    A local write runs before its task commits. A signal or timer that woke the task is
    already in the history, so a retried task repeats the write; an update is not (it is
    accepted by the task's completion), so a worker dying between the write and the
    commit left the read model saying "picked" while the workflow never saw the pick,
    and nothing rewrote it. The timer's firing is durable: its task repeats the write.
    """
    if workflow.patched(UPDATE_COMMIT_PATCH):
        await workflow.sleep(timedelta(milliseconds=1), summary=summary)


def stamp(current: int) -> int:
    """:func:`next_version` for the calling workflow (workflow code only)."""
    return next_version(current, workflow.info().get_current_history_length())


def _use_local() -> bool:
    # Memoized per run by the SDK: a run replayed from a history without the patch
    # marker stays on ordinary activities to its end.
    return workflow.patched(PATCH_ID)


async def record_order(view: OrderView, task_queue: str, summary: str) -> None:
    """Write the order's view (a versioned upsert; a stale write is a no-op)."""
    await _write(ReadModelActivities.record_order, view, task_queue, summary)


async def record_shipment(view: ShipmentView, task_queue: str, summary: str) -> None:
    """Write the shipment's view (a versioned upsert; a stale write is a no-op)."""
    await _write(ReadModelActivities.record_shipment, view, task_queue, summary)


async def _write(
    method: Callable[[ReadModelActivities, _View], RecordResult],
    view: _View,
    task_queue: str,
    summary: str,
) -> None:
    # A local activity behind the patch, an ordinary one on the inventory queue before it.
    if _use_local():
        await workflow.execute_local_activity_method(method, view, **policies.local_write(summary))
    else:
        await workflow.execute_activity_method(
            method, view, **policies.STORE.kwargs(task_queue, summary)
        )
