"""Who asked for a cancel fits its field, an operator's ``ops:`` prefix included."""

from __future__ import annotations

from sqlalchemy import String

from oms.models.orders import CancelOrder
from oms.store.tables import ApiTokenRow


def test_an_operator_with_the_longest_subject_can_force_a_cancel() -> None:
    column_type = ApiTokenRow.__table__.c.subject.type
    assert isinstance(column_type, String) and column_type.length is not None
    longest = column_type.length
    by = f"ops:{'o' * longest}"  # what POST /ops/orders/{id}/cancel sends the workflow
    assert CancelOrder(reason="bad address", requested_by=by).requested_by == by
