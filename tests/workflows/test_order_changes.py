"""Changes to a placed order on the time-skipping server: notes, holds and releases."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata

from oms.models.orders import OrderNote, OrderStatus
from tests.workflows.harness import Harness
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.timeout(120)


def _id() -> str:
    return f"A-{uuid.uuid4().hex[:6]}"


async def test_a_note_shows_in_the_view_the_history_and_the_ui_details(harness: Harness) -> None:
    order_id = _id()
    handle = await harness.start(harness.order_input(order_id))
    view = await handle.execute_update(
        OrderWorkflow.add_note,
        OrderNote(text="Customer asked for gift wrap", tags=["gift", "vip"], by="support-1"),
    )
    [note] = view.notes
    assert (note.by, note.text, note.tags) == (
        "support-1",
        "Customer asked for gift wrap",
        ["gift", "vip"],
    )
    assert view.history[-1].note == "Note by support-1: Customer asked for gift wrap [gift, vip]"
    assert (view.history[-1].by, view.history[-1].action) == ("support-1", "note")
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "Customer asked for gift wrap [gift, vip]" in metadata.current_details

    await harness.deliver(f"{order_id}-S1")
    assert (await handle.result()).status == OrderStatus.COMPLETED
    # The order's last read-model write keeps the note.
    assert harness.world.orders[order_id].notes == [note]
