"""A quote's pricing round, for ``QuoteWorkflow``: the ``quotes.price`` activity, and what a
refusal (an unknown SKU or price) answers.

Workflow code (no I/O).
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.quotes import QuoteActivities
    from oms.models.quotes import PriceQuoteRequest, Proposal
    from workflows import policies

# Patch: a run with this marker answers a proposal the pricing refused (an unknown SKU or
# price) with that refusal's type and gives the round back. Runs without it failed the
# update with the activity's failure (the API's 500) and kept the round used up: their
# later proposals and emails were numbered from it.
PROPOSAL_REFUSED_PATCH = "quote-proposal-refused"


async def price(request: PriceQuoteRequest, queue: str) -> Proposal:
    """Price ``request`` (its round) on ``queue``.

    Raises ``ApplicationError`` of the pricing's own refusal type (``UnknownPrice``,
    ``UnknownSku``...), non-retryable, when the pricing refused it in a run with patch
    :data:`PROPOSAL_REFUSED_PATCH` (the caller gives the round back); a run without the
    marker raises the ``ActivityError`` as it always did, so it replays.
    """
    try:
        return await workflow.execute_activity_method(
            QuoteActivities.price,
            request,
            **policies.STORE.kwargs(queue, f"price round {request.round}"),
        )
    except ActivityError as err:
        refused = err.cause
        if not isinstance(refused, ApplicationError) or not workflow.patched(
            PROPOSAL_REFUSED_PATCH
        ):
            raise
        raise ApplicationError(refused.message, type=refused.type, non_retryable=True) from err
