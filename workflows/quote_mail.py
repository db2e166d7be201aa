"""A quote's emails, for ``QuoteWorkflow``: to the buyer, the seller and the approvers,
each through the tracker's outbox on a key under the quote (``quote:<id>:<key>``).

Workflow code (no I/O).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from oms.models.quotes import QuoteInput, QuoteView
    from oms.views import quotes as views
    from workflows.tracker import Tracker


class QuoteMail:
    """Who hears of the quote, and in which language: the buyer in theirs, the seller and
    the approvers (the merchant's addresses) in English.

    The buyer's emails are written from the quote as the buyer sees it
    (:func:`oms.views.quotes.for_buyer`): no figures of a proposal not offered to them,
    nothing of its approvals."""

    def __init__(self, inp: QuoteInput, view: QuoteView, track: Tracker[QuoteView]) -> None:
        self._inp, self._view, self._track = inp, view, track

    async def buyer(self, key: str, template: str, **extra: Any) -> None:
        customer = self._view.customer
        seen = views.for_buyer(self._view)
        await self._send(key, str(customer.email), template, customer.locale, seen, extra)

    async def seller(self, key: str, template: str, **extra: Any) -> None:
        await self._send(key, self._inp.options.seller_email, template, "en", self._view, extra)

    async def approvers(
        self, round_no: int, key: str, role: str | None = None, note: str = ""
    ) -> None:
        """Ask ``role`` (by default every role with an approval pending) to decide on the
        proposal of round ``round_no``."""
        extra = {"roles": role or views.pending_roles(self._view), "note": note}
        await self._send(
            f"approval:{round_no}:{key}",
            self._inp.options.approvers_email,
            "quote_approval_needed",
            "en",
            self._view,
            {**extra, "round": round_no},
        )

    async def _send(
        self,
        key: str,
        to: str,
        template: str,
        locale: Any,
        view: QuoteView,
        extra: dict[str, Any],
    ) -> None:
        """Send ``template`` to ``to``, its context drawn from ``view`` (the quote as the
        recipient may see it) and ``extra``."""
        context = views.email_context(view, **extra)
        await self._track.email(f"quote:{self._inp.quote_id}:{key}", to, template, context, locale)
