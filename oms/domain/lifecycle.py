"""Lifecycles as data: every status of every workflow kind, declared once.

A :class:`Step` says, for one status, which stage the workflow is in, who it waits
for, which clock makes it overdue and whether it is the end. The workflows'
tracker (``workflows/tracker.py``) turns a transition into search attributes with
:func:`attributes`; the stuck-finder's two queries (:func:`deadline_query` on
``OmsDeadline``, :func:`stage_query` on ``OmsStage`` and ``OmsWaitingSince``), the
ops classification and suggestions, the Temporal UI details and the reports all
read these declarations, so a new status is one row here.

Pure: no I/O, no Temporal imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# Setting names (fields of ``oms.settings.Settings``) that hold a clock's limit in seconds.
STEP = "step_deadline_s"
HOLD = "hold_timeout_s"
BACKORDER = "backorder_alert_s"
PICK = "pick_sla_s"
DELIVERY = "delivery_deadline_s"
APPROVAL = "quote_approver_reminder_s"
AUTHORIZE = "return_authorize_deadline_s"
RECEIPT = "return_receipt_timeout_s"
CLOCK_SETTINGS = (STEP, HOLD, BACKORDER, PICK, DELIVERY, APPROVAL, AUTHORIZE, RECEIPT)


@dataclass(frozen=True)
class Clock:
    """How long a workflow may stay in a step before operations should look at it.

    ``setting`` names the limit's setting, ``seconds`` fixes it (0: overdue at once);
    with neither, the workflow sets the deadline itself (a quote's expiry, a
    supplier's lead time), and the stage query compares ``OmsDeadline``.
    """

    setting: str | None = None
    seconds: int | None = None

    @property
    def fixed(self) -> bool:
        """Whether the limit is known without the workflow (a setting or a constant)."""
        return self.setting is not None or self.seconds is not None

    def limit(self, limits: Mapping[str, int]) -> int | None:
        """The limit in seconds under ``limits`` (setting name -> seconds); None if own.

        Raises ``KeyError`` when ``limits`` lacks the clock's setting.
        """
        if self.seconds is not None:
            return self.seconds
        if self.setting is not None:
            return limits[self.setting]
        return None


AT_ONCE = Clock(seconds=0)
OWN_DEADLINE = Clock()


def clock(setting: str) -> Clock:
    return Clock(setting=setting)


@dataclass(frozen=True)
class Step:
    """One status of a kind: its stage, who it waits for, its clock, and what helps."""

    status: str
    stage: str
    waiting_for: str
    clock: Clock | None = None  # None: never overdue here (another workflow carries the clock)
    terminal: bool = False
    # Waits for a person (not a system): overdue means "needs a person".
    person: bool = False
    # What operations should do once it is overdue; ``{business_id}`` and ``{workflow_id}``
    # are filled in, ``{waiting_for}`` with the party the workflow names.
    action: str = ""

    def advice(self, business_id: str, workflow_id: str, waiting_for: str | None = None) -> str:
        """``action`` filled in for one workflow ("" when the step declares none);
        ``waiting_for``: the party the workflow names, default the step's."""
        party = waiting_for or self.waiting_for
        return self.action.format(
            business_id=business_id,
            workflow_id=workflow_id,
            waiting_for=party,
            roles=party.partition(":")[2] or "the approver",
        )


def done(status: str) -> Step:
    """A status that ends the workflow: it waits for nobody and no clock runs."""
    return Step(status, "done", "nobody", terminal=True)


def needs_person_now(status: str, stage: str, waiting_for: str, action: str) -> Step:
    """A status only a person gets the workflow out of: overdue at once, so operations
    see it at the next look; ``action`` says what that person does."""
    return Step(status, stage, waiting_for, AT_ONCE, person=True, action=action)


@dataclass(frozen=True)
class Lifecycle:
    """Every step of one workflow kind; the first step of a status is its default."""

    kind: str
    steps: tuple[Step, ...]
    _by_key: dict[tuple[str, str | None], Step] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key: dict[tuple[str, str | None], Step] = {}
        for step in self.steps:
            by_key.setdefault((step.status, None), step)
            if (step.status, step.stage) in by_key:
                raise ValueError(f"{self.kind}: {step.status}/{step.stage} declared twice")
            by_key[(step.status, step.stage)] = step
        clocks: dict[tuple[str, str], Clock | None] = {}
        for step in self.steps:
            key = (step.stage, step.waiting_for)
            if clocks.setdefault(key, step.clock) != step.clock:
                # The stage query could not tell the two apart.
                raise ValueError(f"{self.kind}: stage {key} has two clocks")
        object.__setattr__(self, "_by_key", by_key)

    def step(self, status: str, stage: str | None = None) -> Step:
        """The step of ``status`` (its default, or the one in ``stage``).

        Raises ``KeyError`` for a status or stage this kind does not declare.
        """
        try:
            return self._by_key[(str(status), stage)]
        except KeyError:
            raise KeyError(f"{self.kind} has no step {status}/{stage or '-'}") from None

    def find(self, stage: str | None, waiting_for: str | None) -> Step | None:
        """The step a workflow's search attributes describe (for ``/ops/stuck``), if any."""
        base = (waiting_for or "").partition(":")[0]
        candidates = [s for s in self.steps if s.stage == stage]
        exact = [s for s in candidates if s.waiting_for == base]
        found = exact or candidates
        return found[0] if found else None

    @property
    def statuses(self) -> list[str]:
        return list(dict.fromkeys(s.status for s in self.steps))


def attributes(
    step: Step,
    now: datetime,
    limits: Mapping[str, int],
    *,
    clock_start: datetime | None = None,
    deadline: datetime | None = None,
    waiting_for: str | None = None,
) -> dict[str, Any]:
    """The search attribute values of a workflow entering ``step`` at ``now``.

    ``OmsWaitingSince`` is when the step's clock started (``clock_start``, default
    ``now``) and ``OmsDeadline`` that plus the clock's limit, so a query on one finds
    the same workflows as a query on the other. A step whose clock is the workflow's
    own takes ``deadline``; a step without a clock has no deadline.

    Raises ``ValueError`` when a step with its own deadline gets none.
    """
    since = clock_start or now
    due: datetime | None = None
    if step.clock is not None and not step.terminal:
        limit = step.clock.limit(limits)
        if limit is not None:
            due = since + timedelta(seconds=limit)
        elif deadline is None:
            raise ValueError(f"{step.status}/{step.stage} needs the workflow's own deadline")
        else:
            due = deadline
    return {
        "OrderStatus": step.status,
        "OmsStage": step.stage,
        "OmsWaitingFor": waiting_for or step.waiting_for,
        "OmsWaitingSince": since,
        "OmsDeadline": due,
    }


def visibility_time(moment: datetime) -> str:
    """``moment`` as a visibility query compares a datetime search attribute with it (UTC,
    microseconds, ``Z``), for every query on ``OmsDeadline`` and ``OmsWaitingSince``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


RUNNING = "ExecutionStatus = 'Running'"
PROBLEMS = "TemporalReportedProblems IS NOT NULL"


def deadline_query(now: datetime) -> str:
    """Every running workflow past its ``OmsDeadline`` or whose tasks keep failing."""
    return f"{RUNNING} AND (OmsDeadline < '{visibility_time(now)}' OR {PROBLEMS})"


def stage_query(
    now: datetime, limits: Mapping[str, int], lifecycles: Iterable[Lifecycle] | None = None
) -> str:
    """The same set as :func:`deadline_query`, as one clause per stage and clock.

    ``OmsStage = s AND OmsWaitingSince < now - limit`` for a clock the settings know,
    ``OmsStage = s AND OmsDeadline < now`` where the workflow sets its own deadline;
    ``OmsWaitingFor`` is named only where one stage waits for parties with different
    clocks. Or'ed, plus the workflows whose tasks fail. Read by the Temporal UI's list.
    """
    clauses = []
    for lifecycle in lifecycles if lifecycles is not None else LIFECYCLES.values():
        by_stage: dict[str, dict[str, Clock]] = {}
        for step in lifecycle.steps:
            if step.clock is not None and not step.terminal:
                by_stage.setdefault(step.stage, {})[step.waiting_for] = step.clock
        for stage, parties in by_stage.items():
            # One clause per party only where the parties' clocks differ.
            split = len(set(parties.values())) > 1
            pairs: list[tuple[str | None, Clock]] = (
                list(parties.items()) if split else [(None, next(iter(parties.values())))]
            )
            for party, clk in pairs:
                clause = f"OmsKind = '{lifecycle.kind}' AND OmsStage = '{stage}'"
                if party is not None:
                    clause += f" AND OmsWaitingFor = '{party}'"
                limit = clk.limit(limits)
                if limit is None:
                    clause += f" AND OmsDeadline < '{visibility_time(now)}'"
                else:
                    since = visibility_time(now - timedelta(seconds=limit))
                    clause += f" AND OmsWaitingSince < '{since}'"
                clauses.append(f"({clause})")
    clauses.append(PROBLEMS)
    return f"{RUNNING} AND ({' OR '.join(clauses)})"


def limits_from(source: Any) -> dict[str, int]:
    """Every clock's limit from an object with the settings' field names."""
    return {name: int(getattr(source, name)) for name in CLOCK_SETTINGS}


# --- the declarations -------------------------------------------------------------------

_CANCEL = "cancel: POST /ops/orders/{business_id}/cancel"

ORDER = Lifecycle(
    "order",
    (
        Step("received", "awaiting_payment", "payment_provider", clock(STEP)),
        Step(
            "on_hold",
            "awaiting_payment",
            "customer",
            clock(HOLD),
            person=True,
            action="Payment on hold: POST /ops/orders/{business_id}/release-hold, or " + _CANCEL,
        ),
        Step(
            "on_hold",
            "awaiting_credit",
            "finance",
            clock(HOLD),
            person=True,
            action="Over the company's credit limit: finance approves with POST "
            "/ops/orders/{business_id}/release-hold, or " + _CANCEL,
        ),
        Step(
            "on_hold",
            "awaiting_po_approval",
            "approver",
            clock(APPROVAL),
            person=True,
            action="A company order the approval rules name an approver for: the role in"
            " waiting_for approves with POST /orders/{business_id}/approvals (oms order approve"
            " {business_id}), or " + _CANCEL,
        ),
        Step(
            "on_hold",
            "held_for_review",
            "support",
            clock(HOLD),
            person=True,
            action="Held before allocation (by a person or the risk rules): POST "
            "/orders/{business_id}/release, or " + _CANCEL,
        ),
        Step("confirmed", "awaiting_allocation", "inventory", clock(STEP)),
        Step(
            "backordered",
            "awaiting_stock",
            "supplier",
            clock(BACKORDER),
            action="Have the warehouse add stock (PUT /warehouses/{{id}}/stock/{{sku}}, a "
            "warehouse or admin token), raise a purchase order, or " + _CANCEL,
        ),
        # Shipments carry the pick, pack and delivery clocks: the order has none there.
        Step("allocated", "awaiting_pick", "warehouse"),
        Step("picking", "awaiting_pick", "warehouse"),
        Step("packed", "awaiting_carrier", "carrier"),
        Step("partially_shipped", "in_transit", "carrier"),
        Step("partially_shipped", "awaiting_stock", "supplier", clock(BACKORDER)),
        Step("shipped", "in_transit", "carrier"),
        Step("shipped", "awaiting_stock", "supplier", clock(BACKORDER)),
        Step("delivered", "done", "nobody"),
        Step("delivered", "awaiting_stock", "supplier", clock(BACKORDER)),
        done("completed"),
        done("cancelled"),
    ),
)

_DELIVERY_LATE = "No carrier scan within the delivery deadline: ask the carrier, or open a claim."
SHIPMENT = Lifecycle(
    "shipment",
    (
        Step(
            "picking",
            "shipment_picking",
            "warehouse",
            clock(PICK),
            action=(
                "Pick late: ask the warehouse to pick, move the shipment to another warehouse "
                "(oms ops reroute), or cancel the order."
            ),
        ),
        Step("packed", "shipment_packed", "carrier", clock(STEP)),
        needs_person_now(
            "held",
            "shipment_held",
            "operations",
            # What is known from the stage alone; /ops/stuck says which hold it is from the
            # shipment's note (``oms.domain.ops.held_advice``).
            action="Held for a person: the carrier refused the address (get the right one "
            "from the customer and correct it: POST /shipments/{business_id}/address), does "
            "not serve its country (cancel the order), or a product lacks customs data (add "
            "its HS code and origin, then cancel the order and place it again); last_error "
            "says which.",
        ),
        Step("shipped", "shipment_shipped", "carrier", clock(DELIVERY), action=_DELIVERY_LATE),
        Step(
            "in_transit", "shipment_in_transit", "carrier", clock(DELIVERY), action=_DELIVERY_LATE
        ),
        Step(
            "out_for_delivery",
            "shipment_out_for_delivery",
            "carrier",
            clock(DELIVERY),
            action=_DELIVERY_LATE,
        ),
        Step("exception", "shipment_exception", "carrier", clock(DELIVERY), action=_DELIVERY_LATE),
        done("delivered"),
        done("cancelled"),
        done("claimed"),
    ),
)

_QUOTE_IDLE = "Quote idle: follow up with the {waiting_for} before it expires."
QUOTE = Lifecycle(
    "quote",
    (
        Step("submitted", "awaiting_proposal", "seller", OWN_DEADLINE, action=_QUOTE_IDLE),
        Step("countered", "awaiting_proposal", "seller", OWN_DEADLINE, action=_QUOTE_IDLE),
        Step(
            "pending_approval",
            "awaiting_approval",
            "approver",
            clock(APPROVAL),
            action="Approval overdue: ask {roles} to decide (POST /quotes/{business_id}/"
            "approvals), or wait for the automatic escalation.",
        ),
        Step("proposed", "awaiting_buyer", "customer", OWN_DEADLINE, action=_QUOTE_IDLE),
        Step("approved", "awaiting_buyer", "customer", OWN_DEADLINE, action=_QUOTE_IDLE),
        Step("accepted", "ordering", "nobody", clock(STEP)),
        # Open for re-opening until its window closes, but nobody is late.
        Step("expired", "expired", "customer"),
        done("ordered"),
        done("rejected"),
        done("withdrawn"),
    ),
)

RETURN = Lifecycle(
    "return",
    (
        Step(
            "requested",
            "awaiting_authorization",
            "support",
            clock(AUTHORIZE),
            person=True,
            action="Authorize or reject: POST /returns/{business_id}/authorize or /reject.",
        ),
        Step("authorized", "awaiting_label", "carrier", clock(STEP)),
        Step(
            "awaiting_receipt",
            "awaiting_receipt",
            "customer",
            clock(RECEIPT),
            action="Nothing received yet: remind the customer; it expires by itself.",
        ),
        Step("received", "resolving", "payment_provider", clock(STEP)),
        # Received in parts: what arrived is settled, the rest is awaited until the
        # original receipt due date (the clock starts when the label was sent).
        Step(
            "partially_received",
            "awaiting_receipt",
            "customer",
            clock(RECEIPT),
            action="Part of the return arrived: remind the customer of the rest; it closes "
            "by itself when the receipt is due.",
        ),
        needs_person_now(
            "refund_failed",
            "refund_failed",
            "operations",
            action="The provider declined the refund: fix the cause, then POST "
            "/returns/{business_id}/retry-refund.",
        ),
        Step("refunded", "closing", "nobody", clock(STEP)),
        Step("exchanged", "closing", "nobody", clock(STEP)),
        done("rejected"),
        done("expired"),
        done("closed"),
    ),
)

_GOODS_LATE = (
    "Goods overdue: chase the supplier; book deliveries as they arrive with "
    "POST /replenishment/{workflow_id}/receipts."
)
REPLENISHMENT = Lifecycle(
    "replenishment",
    (
        Step("low_stock", "raising_purchase_order", "system", clock(STEP)),
        needs_person_now(
            "no_supplier",
            "no_supplier",
            "purchasing",
            action="The SKU has no supplier: link one (PUT /warehouses/{{wh}}/reorder-policies/"
            "{{sku}} with supplier_id), then POST /replenishment/{workflow_id}/retry.",
        ),
        Step(
            "awaiting_confirmation",
            "awaiting_supplier",
            "supplier",
            OWN_DEADLINE,
            action="The supplier has not confirmed past the lead time (reminded, purchasing "
            "escalated): chase them, then POST /replenishment/{workflow_id}/confirm.",
        ),
        Step(
            "awaiting_goods",
            "awaiting_goods",
            "warehouse",
            OWN_DEADLINE,
            action=_GOODS_LATE,
        ),
        Step("partially_received", "awaiting_goods", "warehouse", OWN_DEADLINE, action=_GOODS_LATE),
        done("closed"),
    ),
)

_RESUME = "POST /subscriptions/{business_id}/resume with a new payment"
SUBSCRIPTION = Lifecycle(
    "subscription",
    (
        # Sleeping until the next renewal; its deadline is that renewal (plus a step), so a
        # renewal that did not happen on time shows in the stuck list.
        Step(
            "active",
            "awaiting_renewal",
            "schedule",
            OWN_DEADLINE,
            action="The renewal is overdue: open {workflow_id} in the UI and look at its "
            "last events.",
        ),
        # A declined renewal payment retried on the dunning schedule; due by the last retry.
        Step(
            "active",
            "dunning",
            "customer",
            OWN_DEADLINE,
            action="Renewal payment still declined past its retries: ask the customer for a "
            "new card (" + _RESUME + ").",
        ),
        Step("paused", "paused", "customer"),
        needs_person_now(
            "past_due",
            "past_due",
            "customer",
            action="Every retry of the renewal payment was declined: ask the customer for a "
            "new card (" + _RESUME + "), or cancel it.",
        ),
        done("cancelled"),
    ),
)

LIFECYCLES: dict[str, Lifecycle] = {
    lc.kind: lc for lc in (ORDER, SHIPMENT, QUOTE, RETURN, REPLENISHMENT, SUBSCRIPTION)
}
