"""Replay every saved history with today's workflow code: a change that would break
orders, quotes or returns already running fails here (``make histories`` re-records)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from oms.client import data_converter
from oms.settings import Settings
from workflows.low_stock import LowStockScanWorkflow
from workflows.order import OrderWorkflow
from workflows.quote import QuoteWorkflow
from workflows.replenishment import ReplenishmentWorkflow
from workflows.returns import ReturnWorkflow
from workflows.sandbox import workflow_runner
from workflows.shipment import ShipmentWorkflow

HISTORIES = sorted(Path(__file__).resolve().parent.glob("*.json"))
TEXTS = {p.stem: p.read_text() for p in HISTORIES}


def test_every_workflow_type_has_a_saved_history() -> None:
    names = {p.stem for p in HISTORIES}
    for prefix in ("order_", "shipment_", "quote_", "return_", "replenishment_"):
        assert any(n.startswith(prefix) for n in names), prefix


@pytest.mark.parametrize("name", sorted(TEXTS))
async def test_saved_history_replays_without_nondeterminism(name: str) -> None:
    history = WorkflowHistory.from_json(name, TEXTS[name])
    replayer = Replayer(
        workflows=[
            OrderWorkflow,
            ShipmentWorkflow,
            QuoteWorkflow,
            ReturnWorkflow,
            ReplenishmentWorkflow,
            LowStockScanWorkflow,
        ],
        # The encrypting converter: histories recorded before encryption (plain payloads)
        # must still replay, as workflows running when encryption is switched on do.
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
