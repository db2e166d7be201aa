"""Bodies whose lines name each SKU at most once: one rule, one message, in every body."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from oms.models.common import SkuQuantity, check_skus_once
from oms.models.order_changes import EditOrderBody
from oms.models.returns import RequestReturn
from oms.models.subscriptions import ChangeSubscription

_RETURN_LINE = {"sku": "CAP", "quantity": 1, "reason": "wrong_size"}


def test_distinct_skus_and_no_lines_pass() -> None:
    check_skus_once(
        "lines", [SkuQuantity(sku="CAP", quantity=1), SkuQuantity(sku="HAT", quantity=1)]
    )
    check_skus_once("lines", None)


def test_a_sku_named_twice_is_refused_with_the_field_named() -> None:
    twice = [SkuQuantity(sku="CAP", quantity=1), SkuQuantity(sku="CAP", quantity=2)]
    with pytest.raises(ValueError, match=r"^exchange_for: a SKU is named twice$"):
        check_skus_once("exchange_for", twice)


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (EditOrderBody, {"lines": [{"sku": "CAP", "quantity": 1}] * 2, "reason": "r"}, "lines"),
        (ChangeSubscription, {"lines": [{"sku": "CAP", "quantity": 1}] * 2}, "lines"),
        (
            RequestReturn,
            {
                "lines": [_RETURN_LINE],
                "resolution": "exchange",
                "exchange_for": [{"sku": "HAT", "quantity": 1}] * 2,
            },
            "exchange_for",
        ),
    ],
)
def test_each_body_refuses_a_sku_twice(
    model: type[BaseModel], body: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError, match=f"{field}: a SKU is named twice"):
        model.model_validate(body)
