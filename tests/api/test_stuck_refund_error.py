"""``/ops/stuck`` names why a return waits in ``refund_failed``: the provider's answer the
return's view keeps as ``refund_error``.

The hole: a return stuck there showed ``last_error: null`` while its view said
"RefundDeclined: ... exceeds the 97.00 left ...".
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from oms.domain.ops import Evidence, suggest
from oms.models.common import Customer
from oms.models.ops import StuckItem
from oms.models.returns import ReturnLine, ReturnStatus, ReturnView
from oms.store import returns as return_store
from oms.store.db import Database
from starters.api.ops import _waiting_reasons

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DECLINED = "RefundDeclined: refund of 249.00 exceeds the 97.00 left on the capture"


def _failed_item(rma_id: str) -> StuckItem:
    evidence = Evidence("return", "refund_failed", "operations", False, None, None)
    workflow_id = f"return-{rma_id}"
    return StuckItem(
        kind="return",
        workflow_id=workflow_id,
        business_id=rma_id,
        status="refund_failed",
        stage="refund_failed",
        waiting_for="operations",
        reason="needs_a_person",
        suggested_action=suggest("needs_a_person", evidence, workflow_id, rma_id),
        ui_url="",
    )


def test_a_return_whose_refund_was_declined_shows_the_providers_answer(
    migrated_sqlite_url: str,
) -> None:
    db = Database(migrated_sqlite_url)
    try:
        view = ReturnView(
            rma_id="RMA-7",
            order_id="B-7",
            status=ReturnStatus.REFUND_FAILED,
            resolution="refund",
            customer=Customer(id="C-1", name="Anna", email="anna@example.com"),
            currency="SEK",
            lines=[ReturnLine(sku="TSHIRT", quantity=1, reason="wrong_size")],
            refund_error=DECLINED,
            requested_at=AT,
            updated_at=AT,
            version=1,
        )
        with db.session() as session:
            return_store.record_return(session, view)
        failed, unknown = _failed_item("RMA-7"), _failed_item("RMA-8")
        _waiting_reasons(SimpleNamespace(db=db), [failed, unknown])  # type: ignore[arg-type]
    finally:
        db.dispose()
    assert failed.last_error == DECLINED
    assert unknown.last_error is None  # not in the read model (yet): nothing to say
    assert "retry-refund" in failed.suggested_action
