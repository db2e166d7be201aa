"""Custom search attributes: what operations filter on in the Temporal UI and ``/ops``.

Values are never encrypted by Temporal, so they carry ids and stages only:
no names, emails or addresses.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
KIND = SearchAttributeKey.for_keyword("OmsKind")
STAGE = SearchAttributeKey.for_keyword("OmsStage")
WAITING_FOR = SearchAttributeKey.for_keyword("OmsWaitingFor")
WAITING_SINCE = SearchAttributeKey.for_datetime("OmsWaitingSince")
DEADLINE = SearchAttributeKey.for_datetime("OmsDeadline")
CUSTOMER_ID = SearchAttributeKey.for_keyword("OmsCustomerId")
CHANNEL = SearchAttributeKey.for_keyword("OmsChannel")
WAREHOUSE = SearchAttributeKey.for_keyword("OmsWarehouse")

# Set by the server itself on a workflow whose tasks keep failing (dynamic config
# system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute); not registered by us.
REPORTED_PROBLEMS = SearchAttributeKey.for_keyword_list("TemporalReportedProblems")

ALL = (
    ORDER_STATUS,
    KIND,
    STAGE,
    WAITING_FOR,
    WAITING_SINCE,
    DEADLINE,
    CUSTOMER_ID,
    CHANNEL,
    WAREHOUSE,
)

BY_NAME: dict[str, SearchAttributeKey[Any]] = {key.name: key for key in ALL}


def typed(values: dict[str, Any]) -> TypedSearchAttributes:
    """Search attributes for a start from ``{name: value}`` (None values are left out).

    Raises ``KeyError`` for a name the OMS does not register.
    """
    return TypedSearchAttributes(
        [
            SearchAttributePair(BY_NAME[name], value)
            for name, value in values.items()
            if value is not None
        ]
    )


def child_order(customer_id: str, channel: str) -> TypedSearchAttributes:
    """What an order another workflow starts (a subscription's renewal, an accepted quote,
    a return's exchange) starts with: its kind, customer and channel, as an order the API
    starts has, so ``OmsKind = 'order'`` (``/ops/stuck``, the stage query) finds it too.
    Its stage attributes are its own first workflow task's.
    """
    return typed({"OmsKind": "order", "OmsCustomerId": customer_id, "OmsChannel": channel})


def dev_server_flags() -> list[str]:
    """``--search-attribute Name=Type`` flags registering every key on ``temporal server``."""
    kinds = {"KEYWORD": "Keyword", "DATETIME": "Datetime", "TEXT": "Text", "INT": "Int"}
    flags: list[str] = []
    for key in ALL:
        kind = kinds[key.indexed_value_type.name]
        flags += ["--search-attribute", f"{key.name}={kind}"]
    return flags
