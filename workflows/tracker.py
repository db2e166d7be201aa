"""The lifecycle tracker: what every workflow does on a transition, written once.

A workflow calls :meth:`Tracker.enter` when its status changes and :meth:`Tracker.note`
for anything else worth a history line; the tracker then keeps, from the kind's
lifecycle declaration (``oms/domain/lifecycle.py``):

- the history entry in the view;
- the search attributes, upserting only those that changed and none the start already
  set (``OrderStatus``, ``OmsStage``, ``OmsWaitingFor``, ``OmsWaitingSince``,
  ``OmsDeadline``, all from one :func:`~oms.domain.lifecycle.attributes` call, so the
  deadline and the stage queries always agree);
- the Temporal UI's current details (a pure renderer from ``oms/views``);
- the business metrics (``oms_<kind>_status``, ``oms_<kind>_stage_seconds``);
- the read-model write: a local activity, **at most one per workflow task** and only
  when something visible changed. A task that accepted an update writes nothing: a
  local activity runs before its task commits, and an update exists only once the task
  that accepted it completed, so the write waits for the workflow's next change in a
  later task, or for :meth:`Tracker.close` (the update's caller records the view the
  update returned meanwhile, see :meth:`Tracker.for_caller`). The loop wakes only on
  changes the workflow made, never on a new task alone (see ``WAKE_ON_CHANGE_PATCH``),
  and writes once every coroutine that change woke has run (``SETTLE_PATCH``).

The changes of one activation are applied by a background coroutine once every other
coroutine of the workflow is blocked, so several transitions in one task cost one
upsert and one write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.notifications import EmailActivities
    from oms import search_attributes as sa
    from oms.domain.lifecycle import Lifecycle, Step, attributes
    from oms.models.common import HistoryEntry, Locale
    from oms.models.notifications import EmailRequest
    from oms.queues import EMAIL_QUEUE
    from oms.views.common import intervention, with_due
    from workflows import metrics, policies

# Room for this many writes within one workflow task before the next task's range starts.
WRITES_PER_TASK = 1000

# Patch: a run with this marker records its transitions through this tracker; one without
# runs the frozen 0.1 code of ``workflows.legacy`` (every kind checks it first).
LIFECYCLE_PATCH = "lifecycle-tracker"

# Patch: a run with this marker wakes its write loop only on a change the workflow made.
# Runs without it woke whenever the history had grown, which is not replay-safe: a live
# activation that also carried an update the validator rejected (nothing in history)
# checked conditions once more before its other jobs, so the write took a command
# sequence number a replay gives to the next activity (TMPRL1100 on "Activity id").
WAKE_ON_CHANGE_PATCH = "tracker-wakes-on-change"

# Patch: a run with this marker writes only once the changes of its activation settled.
# Runs without it could write as soon as the loop woke: a coroutine woken by the same
# change (the order's main loop refreshing its status after a shipment's milestone)
# then changed the view after the write, in the same task, and the read model showed
# the change only with the workflow's next one.
SETTLE_PATCH = "tracker-writes-settled"

_KEYS: dict[str, SearchAttributeKey[Any]] = {
    name: sa.BY_NAME[name]
    for name in ("OrderStatus", "OmsStage", "OmsWaitingFor", "OmsWaitingSince", "OmsDeadline")
}


class View(Protocol):
    """What the tracker needs of a workflow's view (every ``*View`` model has it).

    The tracker stamps ``updated_at`` at every visible change (so a kind without a read
    model, replenishment, still says when it last changed), and ``version`` and
    ``updated_at`` again when it writes the view to the read model or hands it to an
    update's caller (:meth:`Tracker.for_caller`). It never reads ``updated_at``; a view
    built before its first change may hold None.
    """

    status: Any
    history: list[HistoryEntry]
    version: int

    # A settable property, not an attribute: a protocol attribute would have to be exactly
    # one type, and the views declare ``datetime`` or (replenishment) ``datetime | None``.
    @property
    def updated_at(self) -> datetime | None: ...

    @updated_at.setter
    def updated_at(self, value: datetime, /) -> None: ...


V = TypeVar("V", bound=View)


def next_version(current: int, history_length: int) -> int:
    """The version of the next write: above ``current`` and above any write a lost task made.

    A worker that dies mid-task leaves that task's writes in the store; the retried task
    starts further along the history, so ranking writes by the history length their task
    started at makes the retried task's writes win.
    """
    return max(current + 1, history_length * WRITES_PER_TASK)


class Tracker(Generic[V]):
    """Applies the transitions of one workflow's view everywhere they must show."""

    def __init__(
        self,
        lifecycle: Lifecycle,
        view: V,
        *,
        limits: Mapping[str, int],
        details: Callable[[V, Step, datetime], str],
        record: Callable[[V], Awaitable[Any]] | None,
        queue_prefix: str = "",
        since: datetime | None = None,
        stage: str | None = None,
    ) -> None:
        """``record`` writes the view to the read model (a local activity; None for a kind
        without one); ``since`` is when the current step's clock started, ``stage`` the
        view's stage (a run continued as new resumes where the run before was)."""
        self.lifecycle, self.view = lifecycle, view
        self._limits, self._render, self._record = limits, details, record
        self.queue_prefix = queue_prefix
        self._step = lifecycle.step(view.status, stage)
        # What the start set is already shown: the tracker upserts only what differs.
        started = workflow.info().typed_search_attributes
        self._shown: dict[str, Any] = {
            name: started.get(key) for name, key in _KEYS.items() if key in started
        }
        self.since: datetime = since or self._shown.get("OmsWaitingSince") or workflow.now()
        self._pending: dict[str, Any] = {}
        self._dirty = False
        self._details_stale = True
        self._written_at = -1
        self._update_at = -1
        self._writing = False
        self._closed = False
        self._wake_on_change = True
        self._settle = True
        self._changes = 0
        self._task: asyncio.Task[None] | None = None

    # --- what workflows call ---------------------------------------------------------

    @property
    def step(self) -> Step:
        return self._step

    def start(self) -> None:
        """Begin applying changes (call first thing in ``run``)."""
        self._wake_on_change = workflow.patched(WAKE_ON_CHANGE_PATCH)
        self._settle = workflow.patched(SETTLE_PATCH)
        self._task = asyncio.create_task(self._apply_loop())

    def enter(
        self,
        status: Any,
        note: str,
        *,
        by: str | None = None,
        action: str | None = None,
        stage: str | None = None,
        clock_start: datetime | None = None,
        deadline: datetime | None = None,
        waiting_for: str | None = None,
    ) -> None:
        """Move to ``status`` (in ``stage``, default its first), with a history line.

        ``clock_start`` is when the step's clock started (default now: a backorder's runs
        from when stock was first missing); ``deadline`` is required where the step's
        clock is the workflow's own. Raises ``KeyError`` for an undeclared status.
        """
        previous = self.view.status if self.view.history else None
        metrics.status_entered(self.lifecycle.kind, str(status), previous, self.since)
        self.view.status = status
        self._step = self.lifecycle.step(status, stage)
        self.note(note, by=by, action=action)
        self.retime(clock_start=clock_start, deadline=deadline, waiting_for=waiting_for)

    def retime(
        self,
        *,
        clock_start: datetime | None = None,
        deadline: datetime | None = None,
        waiting_for: str | None = None,
    ) -> None:
        """Restart the current step's clock (an escalated approval) or move its deadline."""
        now = workflow.now()
        values = attributes(
            self._step,
            now,
            self._limits,
            clock_start=clock_start,
            deadline=deadline,
            waiting_for=waiting_for,
        )
        self.since = values["OmsWaitingSince"]
        for name, value in values.items():
            if self._shown.get(name) != value:
                self._pending[name] = value
            else:
                self._pending.pop(name, None)
        self._details_stale = True
        self._changes += 1

    def note(self, note: str, *, by: str | None = None, action: str | None = None) -> None:
        """Add a history line under the current status."""
        self.view.history.append(
            HistoryEntry(
                at=workflow.now(), status=str(self.view.status), note=note, by=by, action=action
            )
        )
        self.changed()

    def ops_note(self, by: str, action: str, reason: str) -> None:
        """Keep an operator's intervention (``POST /ops/...``) as a history line, worded the
        same in every kind: who (as ``ops:<by>``), what and why, ``action`` filterable."""
        note, author = intervention(by, action, reason)
        self.note(note, by=author, action=action)

    def changed(self) -> None:
        """Something the read model or the UI shows changed (no history line)."""
        # State only, no command: runs recorded before this stamp replay unchanged.
        self.view.updated_at = workflow.now()
        self._dirty = True
        self._details_stale = True
        self._changes += 1

    def update_accepted(self) -> None:
        """Call first thing in every update handler: this task writes nothing (see module)."""
        self._update_at = workflow.info().get_current_history_length()

    def for_caller(self) -> V:
        """The view as an update returns it, versioned so the caller may record it."""
        length = workflow.info().get_current_history_length()
        self.view.version = next_version(self.view.version, length)
        self.view.updated_at = workflow.now()
        return self.view

    async def close(self) -> None:
        """Write what is left before the workflow returns (once its handlers finished)."""
        self._closed = True
        await workflow.wait_condition(lambda: not self._writing)
        if workflow.info().get_current_history_length() == self._update_at:
            # The last change came with an update, which exists once this task commits:
            # end the task first (rare: a quote withdrawn or rejected).
            await workflow.sleep(timedelta(milliseconds=1), summary="commit before the write")
        self._apply_visible()
        if self._dirty:
            await self._write()

    def reopen(self) -> None:
        """Apply changes again after :meth:`close` (a workflow that meant to end its run
        but goes on: something came in while it wrote)."""
        self._closed = False

    async def email(
        self,
        key: str,
        to: str,
        template: str,
        context: dict[str, Any],
        locale: Locale = "en",
    ) -> bool:
        """Send one email through the outbox (at least once per ``key``, the same Message-ID).

        A refused address must not stop the workflow: the failure is noted in its
        history and False returned.
        """
        try:
            await workflow.execute_activity_method(
                EmailActivities.send,
                EmailRequest(key=key, to=to, locale=locale, template=template, context=context),
                **policies.EMAIL.kwargs(self.queue_prefix + EMAIL_QUEUE, f"email {template}"),
            )
        except ActivityError as err:
            self.note(f"Email {template} not sent: {err.cause or err}", by="system")
            return False
        return True

    # --- applying changes ------------------------------------------------------------

    def _may_write(self) -> bool:
        length = workflow.info().get_current_history_length()
        return length not in (self._written_at, self._update_at)

    def _due(self) -> bool:
        """Whether the loop has work; only workflow state may decide it (see the patch)."""
        if self._closed:
            return False
        if self._pending or self._details_stale:
            return True
        # Runs without the patch also woke when a new task alone made a write allowed.
        return not self._wake_on_change and self._dirty and self._may_write()

    async def _apply_loop(self) -> None:
        while True:
            await workflow.wait_condition(self._due)
            if self._settle:
                await self._settled()
                if self._closed:
                    continue  # close() writes what is left itself
            self._apply_visible()
            if self._dirty and self._may_write():
                await self._write()

    async def _settled(self) -> None:
        """Return once every coroutine woken with the loop ran until it blocked again.

        Conditions are checked only when no coroutine is ready, and all that hold are
        resolved together, so the coroutine that made a change and others it woke (the
        order's main loop refreshing its status after a milestone) may run after this
        loop in the same activation. An always-true condition resolves at the next
        check, after they ran; the loop waits until a check passes with no new change.
        Conditions issue no commands, so this costs nothing in the history.
        """
        while True:
            seen = self._changes
            await workflow.wait_condition(lambda: True)
            if self._changes == seen:
                return

    def _apply_visible(self) -> None:
        """Search attributes and current details: commands of this task, safe with updates."""
        if self._pending:
            updates: list[SearchAttributeUpdate[Any]] = [
                _KEYS[name].value_set(value) if value is not None else _KEYS[name].value_unset()
                for name, value in self._pending.items()
            ]
            workflow.upsert_search_attributes(updates)
            self._shown.update(self._pending)
            self._pending = {}
        if self._details_stale:
            details = with_due(
                self._render(self.view, self._step, self.since),
                self._step,
                self._shown.get("OmsDeadline"),
                workflow.info().workflow_id,
                self._shown.get("OmsWaitingFor") or self._step.waiting_for,
            )
            workflow.set_current_details(details)
            self._details_stale = False

    async def _write(self) -> None:
        self._dirty = False
        if self._record is None:
            return
        length = workflow.info().get_current_history_length()
        self._written_at = length
        self.view.version = next_version(self.view.version, length)
        self.view.updated_at = workflow.now()
        self._writing = True
        try:
            await self._record(self.view)
        finally:
            self._writing = False
