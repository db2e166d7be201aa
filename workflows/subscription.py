"""SubscriptionWorkflow: one subscription, renewing an order every interval for years.

Workflow id ``subscription-<subscription_id>``. Each run is one cycle: sleep until the
next renewal (a timer; the customer's reminder a configurable time before), then price
the lines at the catalogue's list prices of that moment, authorize the card (a decline
goes to dunning: retries on the schedule, 1, 3 and 7 days by default, an email each,
then ``past_due``, paused until the customer resumes with a new card), and start that
period's ``OrderWorkflow`` (``SUB-<subscription_id>-<n>``) with the authorization, then
continue-as-new with the state. Customers pause (until a date or until resumed),
resume, skip the next renewal, change lines or address (from the next renewal) and
cancel (now or at the end of the period), each an update that answers with the view.

Exactly one order per period: the order's workflow id is derived from the period and
started with a reject-duplicate policy, so a retried or replayed start finds the one
that exists; its authorization is keyed on the order and attempt, so the provider
answers a retried authorization with the same one; the order id is the orders read
model's primary key.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.subscriptions import SubscriptionActivities
    from oms.domain import lifecycle
    from oms.domain.subscriptions import first_period_from, renewal_at
    from oms.domain.subscriptions import order_id as renewal_order_id
    from oms.ids import subscription_workflow_id
    from oms.models.ops import OpsNote
    from oms.models.subscriptions import (
        CancelSubscription,
        ChangeSubscription,
        PauseSubscription,
        ResumeSubscription,
        SkipRenewal,
        SubscriptionInput,
        SubscriptionStatus,
        SubscriptionView,
    )
    from oms.views import subscriptions as views
    from oms.views.returns import when
    from workflows import policies
    from workflows.subscription_renewal import Renewal
    from workflows.tracker import Tracker

__all__ = ["SubscriptionWorkflow", "subscription_workflow_id"]

ACTIVE, PAUSED = SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED
PAST_DUE, CANCELLED = SubscriptionStatus.PAST_DUE, SubscriptionStatus.CANCELLED
Outcome = Literal["renewed", "paused", "cancelled"]
# Patch: a run with this marker resumes an early-ended dated pause from the period the pause
# started at; runs without it went on from where the pause would have ended.
RESUME_FROM_PAUSE_PATCH = "subscription-resume-from-pause"


def _rejected(message: str, type_: str) -> ApplicationError:
    return ApplicationError(message, type=type_, non_retryable=True)


@workflow.defn(name="SubscriptionWorkflow")
class SubscriptionWorkflow:
    """The whole life of one subscription; its state is available by the ``state`` query."""

    @workflow.init
    def __init__(self, inp: SubscriptionInput) -> None:
        self._inp, opts = inp, inp.options
        self._view = inp.carried or SubscriptionView(
            subscription_id=inp.subscription_id,
            status=ACTIVE,
            customer=inp.customer,
            currency=inp.currency,
            interval=inp.interval,
            lines=inp.lines,
            ship_to=inp.ship_to,
            shipping_speed=inp.shipping_speed,
            anchor=inp.start_at,
            next_renewal_at=inp.start_at,
            created_at=inp.created_at,
            updated_at=inp.created_at,
        )
        self._track = Tracker(
            lifecycle.SUBSCRIPTION,
            self._view,
            limits={lifecycle.STEP: opts.step_deadline_s},
            details=views.details,
            record=policies.recorder(SubscriptionActivities.record_subscription),
            queue_prefix=opts.task_queue_prefix,
        )
        self._wake = False  # a handler changed something the waiting loop must look at
        self._renewing = False
        self._renewal = Renewal(inp, self._view, self._track, self._email, self._sleep)

    # --- queries, updates, signals ---------------------------------------------------

    @workflow.query
    def state(self) -> SubscriptionView:
        return self._view

    @workflow.update
    async def pause(self, request: PauseSubscription) -> SubscriptionView:
        """Pause renewals until ``until`` (the periods it covers are passed over) or resumed."""
        self._track.update_accepted()
        view = self._view
        view.paused_until = request.until
        if request.until is None:
            view.next_renewal_at = None
            note = "paused until resumed"
        else:
            view.paused_from_period = view.period
            self._move_to(first_period_from(view.anchor, view.interval, view.period, request.until))
            note = f"paused until {when(request.until)}"
        self._track.enter(PAUSED, note, by=request.by)
        return self._changed()

    @pause.validator
    def _validate_pause(self, request: PauseSubscription) -> None:
        self._require_active("pause")
        if request.until is not None and request.until <= workflow.now():
            raise _rejected("until must be in the future", "InvalidPause")

    @workflow.update
    async def resume(self, request: ResumeSubscription) -> SubscriptionView:
        """Resume a paused or past-due subscription; a new card is used from now on.

        Past due (or in dunning, with a new card): the declined renewal is retried now.
        """
        self._track.update_accepted()
        view = self._view
        if request.payment is not None:
            self._renewal.payment = request.payment
        card = " with a new card" if request.payment is not None else ""
        if view.status == PAST_DUE or view.dunning is not None:
            self._renewal.retry_now = True
            deadline = workflow.now() + timedelta(seconds=self._inp.options.step_deadline_s)
            note = f"resumed{card}: payment retried now"
            self._track.enter(ACTIVE, note, by=request.by, stage="dunning", deadline=deadline)
        else:
            self._resume(request.by, f"resumed{card}")
        return self._changed()

    @resume.validator
    def _validate_resume(self, request: ResumeSubscription) -> None:
        view = self._view
        if view.status in (PAUSED, PAST_DUE):
            return
        if view.dunning is not None and request.payment is not None:
            return  # a new card while the declined one is being retried
        raise _rejected(
            f"only a paused or past-due subscription can be resumed; it is {view.status}"
            + (" (in dunning: send a new payment)" if view.dunning else ""),
            "NotPaused",
        )

    @workflow.update
    async def skip(self, request: SkipRenewal) -> SubscriptionView:
        """The next renewal places no order; the one after it is next."""
        self._track.update_accepted()
        view = self._view
        skipped = view.next_renewal_at
        view.skipped.append(view.period)
        self._move_to(view.period + 1)
        assert skipped is not None and view.next_renewal_at is not None
        note = f"skipped the renewal of {when(skipped)}; next {when(view.next_renewal_at)}"
        self._track.note(note, by=request.by, action="skipped")
        self._track.retime(deadline=self._due_by())
        return self._changed()

    @skip.validator
    def _validate_skip(self, request: SkipRenewal) -> None:
        self._require_active("skip")
        if self._view.cancel_at_period_end:
            raise _rejected("the subscription ends at the end of this period", "AlreadyEnding")

    @workflow.update
    async def change(self, request: ChangeSubscription) -> SubscriptionView:
        """New lines and/or address, from the next renewal on (one under way keeps its own)."""
        self._track.update_accepted()
        view, changed = self._view, []
        if request.lines is not None:
            view.lines = request.lines
            changed.append("lines " + ", ".join(f"{ln.quantity} x {ln.sku}" for ln in view.lines))
        if request.ship_to is not None:
            view.ship_to = request.ship_to
            changed.append(f"address {request.ship_to.city}")
        self._track.note(
            "changed " + "; ".join(changed) + ", from the next renewal",
            by=request.by,
            action="changed",
        )
        return self._changed()

    @change.validator
    def _validate_change(self, request: ChangeSubscription) -> None:
        self._require_open("change")

    @workflow.update
    async def cancel(self, request: CancelSubscription) -> SubscriptionView:
        """End the subscription now, or at the end of the period (no further order then)."""
        self._track.update_accepted()
        view = self._view
        if request.at_period_end and view.status == ACTIVE and view.dunning is None:
            view.cancel_at_period_end, view.cancel_reason = True, request.reason
            assert view.next_renewal_at is not None
            note = f"ends at the end of the period, {when(view.next_renewal_at)}: {request.reason}"
            self._track.note(note, by=request.by, action="ending")
        elif view.cancel_at_period_end and view.cancel_reason is not None:
            # Already ending at the period's end: the reason given then (the customer's, as
            # a rule) stays the subscription's, and the history records this one beside it.
            # The view and its history only: no command changes, so no patch.
            ending = f"it was to end at the end of the period: {view.cancel_reason}"
            note = f"cancelled at once: {request.reason} ({ending})"
            self._cancel(view.cancel_reason, request.by, note)
        else:
            self._cancel(request.reason, request.by)
        return self._changed()

    @cancel.validator
    def _validate_cancel(self, request: CancelSubscription) -> None:
        self._require_open("cancel")
        if request.at_period_end and self._view.cancel_at_period_end:
            raise _rejected(
                "the subscription already ends at the end of this period", "AlreadyEnding"
            )

    @workflow.signal
    def ops_note(self, note: OpsNote) -> None:
        """An operator's intervention, kept in the subscription's history with who and why."""
        self._track.ops_note(note.by, note.action, note.reason)

    # --- the run: one cycle per run ----------------------------------------------------

    @workflow.run
    async def run(self, inp: SubscriptionInput) -> SubscriptionView:
        self._track.start()
        view = self._view
        if inp.carried is None:
            items = ", ".join(f"{ln.quantity} x {ln.sku}" for ln in view.lines)
            note = f"created: {items} every {view.interval}, first renewal {when(inp.start_at)}"
            self._track.enter(ACTIVE, note, by=inp.customer.id, deadline=self._due_by())
        while True:
            if not await self._until_due():
                return await self._finish()
            outcome = await self._renew()
            if outcome == "cancelled":
                return await self._finish()
            if outcome == "renewed":
                break
        # One cycle per run keeps the history small for years; the state goes along.
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._track.close()
        workflow.continue_as_new(
            inp.model_copy(update={"carried": self._view, "payment": self._renewal.payment})
        )

    async def _until_due(self) -> bool:
        """Sleep until the next renewal is due, reminding the customer on the way.

        False once the subscription is cancelled (at once, or at the end of its period).
        """
        view, reminder = self._view, timedelta(seconds=self._inp.options.reminder_s)
        while True:
            if view.status == CANCELLED:
                return False
            if view.status == PAUSED:
                await self._sleep(view.paused_until, "paused")
                until = view.paused_until
                if view.status == PAUSED and until is not None and workflow.now() >= until:
                    self._resume("system", "pause ended")
                continue
            due = view.next_renewal_at
            assert due is not None
            now = workflow.now()
            if now >= due:
                if view.cancel_at_period_end:
                    self._cancel(
                        view.cancel_reason or "cancelled at the end of the period", "system"
                    )
                    return False
                return True
            remind_at = due - reminder
            to_remind = reminder > timedelta(0) and view.reminded_period != view.period
            if to_remind and now >= remind_at and not view.cancel_at_period_end:
                view.reminded_period = view.period
                self._track.note(f"reminded of the renewal {when(due)}", by="system")
                await self._email(f"{view.period}:reminder", "subscription_reminder")
                continue
            upcoming = to_remind and remind_at > now and not view.cancel_at_period_end
            if upcoming:
                await self._sleep(remind_at, "until the renewal reminder")
            else:
                await self._sleep(due, f"until renewal {view.period + 1}")

    async def _renew(self) -> Outcome:
        """Price, pay for and place this period's order."""
        view, inp = self._view, self._inp
        self._renewing = True
        try:
            period = view.period
            order_id = renewal_order_id(inp.subscription_id, period)
            try:
                price = await self._renewal.price(order_id)
            except ActivityError as err:
                # A SKU no longer sold: only the customer (changing the lines) can fix it.
                view.last_error = f"{order_id} not placed: {err.cause or err}"
                view.next_renewal_at = None
                self._track.enter(PAUSED, f"{view.last_error}; change the lines and resume")
                return "paused"
            await self._renewal.notice_price(order_id, period, price)
            authorization = await self._renewal.collect(order_id, price.total)
            if authorization is None:
                return "cancelled"
            placed = await self._renewal.place(order_id, period, price, authorization)
            # A renewal late by a whole period (dunning) passes over the one it ran into.
            self._move_to(first_period_from(view.anchor, view.interval, period + 1, workflow.now()))
            self._track.enter(
                ACTIVE, placed, by="system", action="renewed", deadline=self._due_by()
            )
            return "renewed"
        finally:
            self._renewing = False

    async def _finish(self) -> SubscriptionView:
        view = self._view
        await self._email("cancelled", "subscription_cancelled", reason=view.cancel_reason or "")
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._track.close()
        return view

    # --- state changes ---------------------------------------------------------------

    def _move_to(self, period: int) -> None:
        view = self._view
        view.period = period
        view.next_renewal_at = renewal_at(view.anchor, view.interval, period)

    def _due_by(self) -> datetime:
        """The deadline of waiting for the next renewal: it, plus a step."""
        due = self._view.next_renewal_at or workflow.now()
        return due + timedelta(seconds=self._inp.options.step_deadline_s)

    def _resume(self, by: str, note: str) -> None:
        view = self._view
        view.paused_until = None
        start = view.period
        # Resumed before a dated pause ended: the first renewal from now, not the one the
        # pause had moved to (that cost the customer the periods between).
        early = view.paused_from_period is not None and view.paused_from_period < view.period
        if early and workflow.patched(RESUME_FROM_PAUSE_PATCH):
            assert view.paused_from_period is not None
            start = view.paused_from_period
        view.paused_from_period = None
        self._move_to(first_period_from(view.anchor, view.interval, start, workflow.now()))
        assert view.next_renewal_at is not None
        note = f"{note}; next renewal {when(view.next_renewal_at)}"
        self._track.enter(ACTIVE, note, by=by, deadline=self._due_by())

    def _cancel(self, reason: str, by: str, note: str | None = None) -> None:
        """Cancelled now, for ``reason``; the history entry says ``note`` when given."""
        view = self._view
        view.cancel_reason = reason
        view.next_renewal_at = view.paused_until = view.dunning = None
        self._track.enter(CANCELLED, note or f"cancelled: {reason}", by=by)

    def _changed(self) -> SubscriptionView:
        self._wake = True
        return self._track.for_caller()

    def _require_open(self, action: str) -> None:
        if self._view.status == CANCELLED:
            raise _rejected(
                f"cannot {action}: the subscription is cancelled", "SubscriptionCancelled"
            )

    def _require_active(self, action: str) -> None:
        self._require_open(action)
        view = self._view
        if view.status != ACTIVE:
            raise _rejected(f"cannot {action}: the subscription is {view.status}", "NotActive")
        if self._renewing or view.dunning is not None:
            raise _rejected(
                f"cannot {action}: this period's renewal is under way", "RenewalInProgress"
            )

    # --- helpers -----------------------------------------------------------------------

    async def _sleep(self, until: datetime | None, summary: str) -> None:
        """Until ``until`` (None: no limit) or until a handler changed something."""
        self._wake = False
        timeout = None if until is None else until - workflow.now()
        if timeout is not None and timeout <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._wake,
                timeout=timeout,
                timeout_summary=summary if timeout is not None else None,
            )

    async def _email(self, key: str, template: str, **extra: str) -> None:
        view = self._view
        await self._track.email(
            f"subscription:{view.subscription_id}:{key}",
            str(view.customer.email),
            template,
            views.email_context(view, **extra),
            view.customer.locale,
        )
