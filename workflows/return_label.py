"""A return's prepaid label, for ``ReturnWorkflow``: bought once the return is authorized
(``<rma>:return-label``), voided when nothing was received in time.

Workflow code (no I/O). Neither failure stops the return: the customer can still send the
parcel without a label, and an unused label left unvoided costs at most its fee, so each is
a history line for support, not an error.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.carrier import CarrierActivities
    from oms.models.carrier import VoidLabelRequest
    from oms.models.returns import ReturnInput, ReturnLabel, ReturnLabelRequest, ReturnView
    from oms.queues import CARRIER_QUEUE
    from workflows import policies
    from workflows.tracker import Tracker


class ReturnLabels:
    """Buys and voids the return's label; its view's ``label``."""

    def __init__(self, inp: ReturnInput, view: ReturnView, track: Tracker[ReturnView]) -> None:
        self._inp, self._view, self._track = inp, view, track
        self._queue = inp.options.task_queue_prefix + CARRIER_QUEUE

    async def buy(self, warehouse_id: str | None, return_to: Any) -> None:
        """Buy the label to ``return_to`` (the warehouse ``warehouse_id``); none when the
        warehouse has no address or the carrier refused (a history line says why)."""
        inp = self._inp
        if warehouse_id is None or return_to is None:
            note = "no return label: the shipping warehouse has no address"
            self._track.note(note, by="system")
            return
        try:
            label = await workflow.execute_activity_method(
                CarrierActivities.buy_return_label,
                ReturnLabelRequest(
                    idempotency_key=f"{inp.rma_id}:return-label",
                    rma_id=inp.rma_id,
                    ship_from=inp.ship_to,
                    ship_to=return_to,
                ),
                **policies.CARRIER.kwargs(self._queue, "buy return label"),
            )
        except ActivityError as err:
            # The customer can still send the parcel; support sees why there is no label.
            self._track.note(f"return label not bought: {err.cause or err}", by="system")
            return
        self._view.label = ReturnLabel(
            label_id=label.label_id,
            tracking_number=label.tracking_number,
            carrier=label.carrier,
            service=label.service,
            return_to_warehouse_id=warehouse_id,
        )
        self._track.note(f"return label {label.tracking_number} to {warehouse_id}", by="system")

    async def void(self) -> None:
        """Void the label bought, if any (a failure is a history line)."""
        if self._view.label is None:
            return
        try:
            await workflow.execute_activity_method(
                CarrierActivities.void_label,
                VoidLabelRequest(shipment_id=self._inp.rma_id, label_id=self._view.label.label_id),
                **policies.CARRIER.kwargs(self._queue, "void return label"),
            )
        except ActivityError as err:
            self._track.note(f"return label not voided: {err.cause or err}", by="system")
