"""Where an order's process stands, for ``OrderWorkflow`` and the parts it is built of
(holds, cancellation, fulfilment, continue-as-new, notes): what its handlers and its main
loop tell each other beyond the view (:class:`OrderState`), the rules that refuse a change
on it, and what every part works on (:class:`OrderRun`). One instance of each per run,
shared by reference.

Workflow code (no I/O).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from oms.domain.lifecycle import ORDER
    from oms.models.orders import CancelOrder, OrderInput, OrderView
    from workflows.tracker import Tracker

if TYPE_CHECKING:
    from workflows.order_shipments import Shipments

# Sends one of the order's customer emails: (key, template, **context).
Email = Callable[..., Awaitable[None]]


@dataclass
class OrderState:
    """The order's progress flags and counters (the view shows the rest)."""

    cancel: CancelOrder | None = None  # a cancel was asked for (or the payment failed)
    cancel_done: bool = False  # the compensation ran
    cancel_outcome: bool | None = None  # True: ended cancelled; False: shipped first
    wake: bool = False  # stock may have arrived: claim backorders
    resends: int = 0  # notifications resent (each its own outbox key)
    rerouting: int = 0  # shipments being stopped and started again: not finished meanwhile
    past_gate: bool = False  # past the risk review and any hold: allocation may start
    allocated: bool = False  # its first allocation is done: lines may be cancelled
    # The allocation decided (the status shows it) while its shipments start: a line
    # cancellation is accepted and waits for them rather than refused.
    decided: bool = False
    secured: bool = False  # the payment is secured: an edit may change the money
    # Edits, line cancellations and claims under way: a whole-order cancel waits.
    changing: int = 0
    # Line cancellations under way whose record the order's status waits for (patch
    # ``order-line-cancel-recorded-first``): a shipment one stops must not make the order
    # delivered or completed with the lines and total from before.
    recording_lines: int = 0
    # Claims (patch ``order-claim-status-held``) and re-routes (patch
    # ``order-reroute-status-held``) between a parcel's end and the record of what replaces
    # it (new parcels, units owed): the status waits, or the other parcels alone would make
    # the order ``delivered`` (and send ``order.delivered``) for a moment.
    replacing: int = 0
    # One change of the order's stock at a time: an edit, a line cancellation, a claim.
    stock_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # What the caller of the change under way (one at a time, under ``stock_lock``) chose
    # to tell the customer: its email carries this, never the caller's reason (internal).
    customer_note: str | None = None

    def refuse_closing(self, status: str, error_type: str, *, ended: bool = False) -> None:
        """Refuse a change while the order is being cancelled or, with ``ended``, once it
        was cancelled or completed (``status``): ``ApplicationError`` of ``error_type``."""
        if ended and ORDER.step(status).terminal:
            raise ApplicationError(f"order is already {status}", type=error_type)
        if self.cancel is not None:
            raise ApplicationError("the order is being cancelled", type=error_type)

    def check_editable(self, status: str) -> None:
        """Raises ``ApplicationError`` ``NotEditable`` (ended or cancelling) or
        ``NotEditableYet`` (its payment or stock is being settled)."""
        self.refuse_closing(status, "NotEditable", ended=True)
        if not self.secured or (self.past_gate and not self.allocated):
            # On hold for a declined card this lasts until the customer pays (days), not a
            # moment: say what it waits for.
            waits = (
                "its payment is not secured yet"
                if not self.secured
                else "its stock is being allocated; try again in a moment"
            )
            raise ApplicationError(f"the order is {status} and {waits}", type="NotEditableYet")

    def check_line_cancellable(self, status: str) -> None:
        """Raises ``ApplicationError`` ``NotCancellable`` (ended or cancelling) or
        ``NotAllocated`` (before the allocation decided)."""
        self.refuse_closing(status, "NotCancellable", ended=True)
        if not self.allocated and not self.decided:
            raise ApplicationError(
                f"the order is {status} and its stock is not allocated yet; "
                "cancel the order, or cancel the line once it is allocated",
                type="NotAllocated",
            )

    @contextlib.asynccontextmanager
    async def changing_stock(self, customer_note: str | None = None) -> AsyncIterator[None]:
        """One change of the order's stock at a time (an edit, a line cancellation, a
        claim); while any is under way or waiting, a whole-order cancel is refused.
        ``customer_note``: what its email tells the customer (:attr:`customer_note`)."""
        self.changing += 1
        try:
            async with self.stock_lock:
                self.customer_note = customer_note
                try:
                    yield
                finally:
                    self.customer_note = None
        finally:
            self.changing -= 1

    @contextlib.contextmanager
    def moving_shipments(self, shipments: Shipments) -> Iterator[None]:
        """Shipments stop and others start (a re-route, an edit, a claim's reship): the
        order must not read as finished meanwhile; its status is worked out again after."""
        self.rerouting += 1
        try:
            yield
        finally:
            self.rerouting -= 1
            shipments.changed = True

    @property
    def status_held(self) -> bool:
        """Whether the order's status waits for a change under way to be recorded."""
        return bool(self.recording_lines or self.replacing)

    @contextlib.contextmanager
    def replacing_parcel(self, hold: bool) -> Iterator[None]:
        """With ``hold``, a parcel ends (claimed, re-routed) and its replacement is not on
        record yet: the order's status waits (:attr:`replacing`). The caller works it out
        again once the replacement is recorded."""
        if not hold:
            yield
            return
        self.replacing += 1
        try:
            yield
        finally:
            self.replacing -= 1

    @contextlib.contextmanager
    def recording_lines_first(self, shipments: Shipments, hold: bool) -> Iterator[None]:
        """With ``hold``, a line cancellation is under way: the order's status and end wait
        until its lines and total are recorded, then are worked out again."""
        if not hold:
            yield
            return
        self.recording_lines += 1
        try:
            yield
        finally:
            self.recording_lines -= 1
            shipments.changed = True


@dataclass(frozen=True)
class OrderRun:
    """What every part of the order works on in this run: its input, its view, the tracker
    that records its transitions, its progress, and how it emails the customer."""

    inp: OrderInput
    view: OrderView
    track: Tracker[OrderView]
    state: OrderState
    email: Email
