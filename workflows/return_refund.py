"""A return's refund, for ``ReturnWorkflow``: what arrived refunded per line, each once on its
key, a declined refund waiting in ``refund_failed`` for a person's ``retry_refund``.

Workflow code (no I/O): the provider calls are the receipt's (``Receipt.refund_lines``);
this part keeps the status, the retries and the emails around them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from oms.domain.money import format_money
    from oms.domain.returns import shortfall_note
    from oms.models.returns import RetryRefund, ReturnInput, ReturnStatus, ReturnView
    from oms.views import returns as views
    from workflows.return_receipt import EmailOps, Receipt
    from workflows.tracker import Tracker

if TYPE_CHECKING:
    from workflows.return_exchange import Email, Exchange

# A return's refund asks for no more than is left to refund on the order (read at refund
# time by ``returns.refund_room``): what is left is refunded and the return closes. Before,
# the provider declined the whole refund and the return waited in ``refund_failed`` for good.
REFUND_CAP_PATCH = "return-refund-cap"


class Refunds:
    """Settles the refund of each parcel; ``retry`` is the person's retry being taken."""

    def __init__(
        self,
        inp: ReturnInput,
        view: ReturnView,
        track: Tracker[ReturnView],
        receipt: Receipt,
        mail: tuple[Email, EmailOps],
        exchange: Callable[[], Exchange],
    ) -> None:
        """``exchange``: the return's exchange part, for what it could not charge (built
        after this one, which it refunds through)."""
        self._inp, self._view, self._track, self._receipt = inp, view, track, receipt
        self._email, self._email_ops = mail
        self._exchange = exchange
        # Set by the workflow's ``retry_refund`` update, cleared once the retry is taken.
        self.retry: RetryRefund | None = None

    async def settle(self) -> None:
        """Refund each line once; a declined refund waits for a person to retry it.

        Behind ``return-refund-cap`` no refund asks for more than is left to refund on the
        order; a run from before that waits in ``refund_failed`` takes the capped path
        at its next retry (``return-refund-cap-retry-<n>``, one id per retry: the answer of
        a patch is fixed for the run at its first asking, which replay gives for the
        retries the run had before).
        """
        inp = self._inp
        # A later parcel of a return received in parts: its own email keys, and its email
        # says what this parcel refunded (the first parcel's keys are as before).
        parcel = self._receipt.number
        suffix = f":r{parcel}" if parcel > 1 else ""
        before = self._view.refund_total
        short_before = self._view.refund_shortfall or Decimal("0.00")
        capped, retries = workflow.patched(REFUND_CAP_PATCH), 0
        while (failure := await self._receipt.refund_lines(capped, retries)) is not None:
            self._view.refund_error = failure
            self._track.enter(ReturnStatus.REFUND_FAILED, failure, by="system")
            # Each decline tells operations (a retry that is declined again too).
            again = f":retry-{retries}" if retries else ""
            await self._email_ops(
                f"refund_failed{suffix}{again}", f"Return {inp.rma_id}: {failure}"
            )
            await workflow.wait_condition(
                lambda: self.retry is not None, timeout_summary="waiting for a refund retry"
            )
            retry = self.retry
            assert retry is not None
            self._view.refund_error = None
            note = "refund retried" + (f": {retry.reason}" if retry.reason else "")
            self._track.enter(ReturnStatus.RECEIVED, note, by=retry.by)
            self.retry = None
            retries += 1
            capped = capped or workflow.patched(f"{REFUND_CAP_PATCH}-retry-{retries}")
        total = self._view.refund_total
        paid = total - before  # the whole refund, but for a later parcel of a return
        short = self._receipt.shortfall() if capped else Decimal("0.00")
        if short > short_before:
            self._view.refund_shortfall = short
            self._track.note(shortfall_note(total + short, total), by="system")
        if paid > 0:
            self._track.enter(ReturnStatus.REFUNDED, f"refunded {paid} {inp.currency}", by="system")
            amount = format_money(paid, inp.currency, inp.customer.locale)
            await self._email(
                f"refunded{suffix}",
                "return_refunded",
                amount=amount,
                **views.refunded_context(
                    inp, self._receipt.credit_notes, self._exchange().not_charged
                ),
            )
        elif short <= 0:
            self._track.note("nothing to refund", by="system")
