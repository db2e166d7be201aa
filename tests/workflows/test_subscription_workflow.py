"""SubscriptionWorkflow on the time-skipping server: months of renewals in seconds.

Same-name fakes stand in for the catalogue, the payment provider, email and the read
model; a fake ``OrderWorkflow`` records each order a renewal starts (the real one is
covered by its own tests and end to end).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from oms.domain.money import order_total
from oms.models.common import Address, Customer
from oms.models.notifications import EmailRequest
from oms.models.orders import (
    OrderInput,
    OrderLine,
    OrderOptions,
    OrderResult,
    OrderStatus,
    PaymentDetails,
    RecordResult,
)
from oms.models.payments import AuthorizeRequest
from oms.models.subscriptions import (
    CancelSubscription,
    ChangeSubscription,
    PauseSubscription,
    PriceRenewal,
    RenewalPrice,
    ResumeSubscription,
    SkipRenewal,
    SubscriptionInput,
    SubscriptionLine,
    SubscriptionOptions,
    SubscriptionStatus,
    SubscriptionView,
)
from oms.settings import EMAIL_QUEUE, INVENTORY_QUEUE, PAYMENTS_QUEUE, WORKFLOW_QUEUE
from tests.workflows.fakes import World
from tests.workflows.harness import tick
from workflows.sandbox import workflow_runner
from workflows.subscription import SubscriptionWorkflow, subscription_workflow_id

pytestmark = pytest.mark.timeout(180)

SUB = "S-1"
WEEK = timedelta(weeks=1)
# Orders the fake OrderWorkflow was started with, by test run (prefix) then order id.
PLACED: dict[str, list[OrderInput]] = {}


@workflow.defn(name="OrderWorkflow", sandboxed=False)
class FakeOrderWorkflow:
    """Records the order a renewal started, then waits as a real order would (a child that
    completed at once would make every renewal's continue-as-new task retry)."""

    @workflow.run
    async def run(self, inp: OrderInput) -> OrderResult:
        prefix = inp.options.task_queue_prefix
        if not workflow.unsafe.is_replaying():
            PLACED.setdefault(prefix, []).append(inp)
        await workflow.wait_condition(lambda: False)
        return OrderResult(order_id=inp.order_id, status=OrderStatus.RECEIVED)


@dataclass
class Shop:
    """Same-name fakes of the catalogue and the read model; payments and email are the
    shared fakes of ``tests/workflows/fakes.py`` (``world``). They record every call."""

    prices: dict[str, Decimal] = field(default_factory=lambda: {"COFFEE-1KG": Decimal("149.00")})
    world: World = field(default_factory=World)
    recorded: list[SubscriptionView] = field(default_factory=list)

    @property
    def emails(self) -> list[EmailRequest]:
        return self.world.emails

    @property
    def authorizations(self) -> list[AuthorizeRequest]:
        return [req for name, req in self.world.calls if name == "authorize"]

    def templates(self) -> list[str]:
        return [e.template for e in self.emails]

    def activities(self) -> list[Any]:
        @activity.defn(name="subscriptions.price_renewal")
        async def price_renewal(req: PriceRenewal) -> RenewalPrice:
            unknown = [ln.sku for ln in req.lines if ln.sku not in self.prices]
            if unknown:
                raise ApplicationError(
                    f"unknown SKU(s): {unknown}", type="UnknownSku", non_retryable=True
                )
            lines = [
                OrderLine(sku=ln.sku, quantity=ln.quantity, unit_price=self.prices[ln.sku])
                for ln in req.lines
            ]
            return RenewalPrice(lines=lines, total=order_total(lines))

        shared = [a for a in self.world.activities() if a.__name__ in ("authorize", "send")]
        return [price_renewal, *shared]

    def local(self) -> list[Any]:
        @activity.defn(name="subscriptions.record_subscription")
        async def record_subscription(view: SubscriptionView) -> RecordResult:
            self.recorded.append(view.model_copy(deep=True))
            return RecordResult(written=True)

        return [record_subscription]


@dataclass
class Running:
    env: WorkflowEnvironment
    shop: Shop
    prefix: str
    handles: list[WorkflowHandle[SubscriptionWorkflow, SubscriptionView]] = field(
        default_factory=list
    )

    @property
    def placed(self) -> list[OrderInput]:
        return PLACED.get(self.prefix, [])

    async def start(
        self, *, token: str = "tok_visa", start_at: datetime | None = None, reminder_days: int = 2
    ) -> WorkflowHandle[SubscriptionWorkflow, SubscriptionView]:
        now = datetime.now(UTC)
        handle = await self.env.client.start_workflow(
            SubscriptionWorkflow.run,
            SubscriptionInput(
                subscription_id=SUB,
                customer=Customer(id="C-42", name="Anna", email="anna@example.com", locale="sv"),
                currency="SEK",
                lines=[SubscriptionLine(sku="COFFEE-1KG", quantity=2)],
                ship_to=Address(
                    name="Anna",
                    line1="Drottninggatan 53",
                    postal_code="111 21",
                    city="Stockholm",
                    country="SE",
                ),
                interval="P1W",
                start_at=start_at or now,
                payment=PaymentDetails(token=token),
                created_at=now,
                options=SubscriptionOptions(
                    reminder_s=reminder_days * 86400,
                    task_queue_prefix=self.prefix,
                    order_options=OrderOptions(task_queue_prefix=self.prefix),
                ),
            ),
            id=subscription_workflow_id(SUB),
            task_queue=self.prefix + WORKFLOW_QUEUE,
        )
        self.handles.append(handle)
        return handle

    async def orders(self, count: int) -> list[OrderInput]:
        for _ in range(400):
            if len(self.placed) >= count:
                return self.placed
            await tick()
        raise AssertionError(f"expected {count} orders, got {len(self.placed)}")


@pytest.fixture
async def shop(env: WorkflowEnvironment) -> AsyncIterator[Running]:
    fakes = Shop()
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    workers = [
        Worker(
            env.client,
            task_queue=prefix + WORKFLOW_QUEUE,
            workflows=[SubscriptionWorkflow, FakeOrderWorkflow],
            activities=fakes.local(),
            workflow_runner=workflow_runner(),
        ),
        *(
            Worker(env.client, task_queue=prefix + q, activities=fakes.activities())
            for q in (INVENTORY_QUEUE, PAYMENTS_QUEUE, EMAIL_QUEUE)
        ),
    ]
    for w in workers:
        await w.__aenter__()
    running = Running(env, fakes, prefix)
    try:
        yield running
    finally:
        for h in running.handles:
            with contextlib.suppress(Exception):  # already finished: nothing to clean up
                await h.terminate("test finished")
        for w in workers:
            await w.__aexit__(None, None, None)
        PLACED.pop(prefix, None)


async def until(shop: Running, check: Callable[[SubscriptionView], bool]) -> SubscriptionView:
    """The first view the workflow recorded that passes ``check``.

    Read from the fake read model, not by a query: the time-skipping server lets a query
    that lands on a run just continued-as-new wait for ever, and holds time meanwhile.
    """
    for _ in range(400):
        for view in reversed(shop.shop.recorded):
            if check(view):
                return view
        await tick()
    last = shop.shop.recorded[-1] if shop.shop.recorded else None
    raise AssertionError(f"never reached the expected state; last {last}")


async def settled(
    env: WorkflowEnvironment, handle: WorkflowHandle[SubscriptionWorkflow, SubscriptionView]
) -> None:
    """Wait until the renewal's run continued as new and the next run sleeps on its timer,
    so an update lands on the sleeping run, not on the renewal (which refuses a pause)."""
    for _ in range(200):
        current = (await handle.describe()).run_id
        run = env.client.get_workflow_handle(handle.id, run_id=current)
        events = (await run.fetch_history()).events
        first = events[0].workflow_execution_started_event_attributes
        if (
            first.continued_execution_run_id
            and events[-1].event_type == EventType.EVENT_TYPE_TIMER_STARTED
        ):
            return
        await tick()
    raise AssertionError("the subscription never settled after its renewal")


async def test_a_year_of_weekly_renewals_places_exactly_one_order_each_week(
    env: WorkflowEnvironment, shop: Running
) -> None:
    handle = await shop.start()
    first = await until(shop, lambda v: len(v.orders) == 1)
    started = first.anchor
    for _ in range(51):  # one sleep per week: a year in one call outlasts its RPC deadline
        await env.sleep(WEEK)
    await env.sleep(timedelta(hours=1))
    placed = await shop.orders(52)
    view = await until(shop, lambda v: len(v.orders) == 52)

    ids = [o.order_id for o in placed]
    assert ids == [f"SUB-{SUB}-{n}" for n in range(1, 53)]  # one per week, none twice
    assert all(o.authorization_id == f"AUTH-{o.order_id}:authorize:1" for o in placed)
    assert all(o.channel == "subscription" and o.lines[0].quantity == 2 for o in placed)
    # Placed by the OMS, so the risk rules neither review nor count them.
    assert all(o.origin == "renewal" for o in placed)
    lateness = [o.placed_at - (started + n * WEEK) for n, o in enumerate(view.orders)]
    assert all(timedelta(0) <= late < timedelta(minutes=1) for late in lateness)
    assert view.next_renewal_at == started + 52 * WEEK and view.period == 52
    # A reminder two days before every renewal but the first (placed at once).
    reminders = [e.key for e in shop.shop.emails if e.template == "subscription_reminder"]
    assert reminders == [f"subscription:{SUB}:{n}:reminder" for n in range(1, 52)]
    # Continue-as-new every cycle: the current run's history is one cycle long.
    history = await handle.fetch_history()
    assert len(history.events) < 60
    assert history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
    renewed = [h for h in view.history if h.action == "renewed"]
    assert len(renewed) == 52 and view.history[0].note.startswith("created")


async def test_skip_moves_the_next_renewal_by_one_interval(
    env: WorkflowEnvironment, shop: Running
) -> None:
    handle = await shop.start()
    view = await until(shop, lambda v: len(v.orders) == 1)
    await settled(env, handle)
    assert view.next_renewal_at == view.anchor + WEEK

    skipped = await handle.execute_update(SubscriptionWorkflow.skip, SkipRenewal(by="C-42"))
    assert skipped.next_renewal_at == view.anchor + 2 * WEEK and skipped.skipped == [1]
    assert skipped.history[-1].action == "skipped"

    await env.sleep(WEEK + timedelta(hours=1))
    assert len(shop.placed) == 1  # the skipped week placed nothing
    await env.sleep(WEEK)
    placed = await shop.orders(2)
    assert [o.order_id for o in placed] == [f"SUB-{SUB}-1", f"SUB-{SUB}-3"]


async def test_pause_until_a_date_passes_over_the_weeks_it_covers_then_resumes_itself(
    env: WorkflowEnvironment, shop: Running
) -> None:
    handle = await shop.start()
    view = await until(shop, lambda v: len(v.orders) == 1)
    await settled(env, handle)
    anchor = view.anchor

    paused = await handle.execute_update(
        SubscriptionWorkflow.pause, PauseSubscription(until=anchor + 3 * WEEK + timedelta(hours=1))
    )
    assert paused.status == SubscriptionStatus.PAUSED
    assert paused.next_renewal_at == anchor + 4 * WEEK

    await env.sleep(4 * WEEK + timedelta(hours=12))
    placed = await shop.orders(2)
    assert [o.order_id for o in placed] == [f"SUB-{SUB}-1", f"SUB-{SUB}-5"]
    view = await until(shop, lambda v: v.status == SubscriptionStatus.ACTIVE and len(v.orders) == 2)
    assert view.status == SubscriptionStatus.ACTIVE
    assert any(h.note.startswith("pause ended") and h.by == "system" for h in view.history)


async def test_pause_until_resumed_places_nothing_and_resume_sets_the_next_renewal(
    env: WorkflowEnvironment, shop: Running
) -> None:
    handle = await shop.start()
    view = await until(shop, lambda v: len(v.orders) == 1)
    await settled(env, handle)
    paused = await handle.execute_update(SubscriptionWorkflow.pause, PauseSubscription())
    assert paused.next_renewal_at is None and paused.paused_until is None

    await env.sleep(3 * WEEK + timedelta(hours=1))
    assert len(shop.placed) == 1
    resumed = await handle.execute_update(SubscriptionWorkflow.resume, ResumeSubscription())
    assert resumed.status == SubscriptionStatus.ACTIVE
    assert resumed.next_renewal_at == view.anchor + 4 * WEEK  # the first renewal still ahead
    await env.sleep(WEEK)
    assert [o.order_id for o in await shop.orders(2)] == [f"SUB-{SUB}-1", f"SUB-{SUB}-5"]


async def test_resuming_a_dated_pause_early_goes_on_with_the_next_renewal_from_now(
    env: WorkflowEnvironment, shop: Running
) -> None:
    # Paused for three weeks, resumed the same day: the next renewal is the first one from
    # now (a week on), not the one after the pause would have ended.
    handle = await shop.start()
    view = await until(shop, lambda v: len(v.orders) == 1)
    await settled(env, handle)
    until_ = view.anchor + 3 * WEEK + timedelta(hours=1)
    paused = await handle.execute_update(
        SubscriptionWorkflow.pause, PauseSubscription(until=until_)
    )
    assert paused.next_renewal_at == view.anchor + 4 * WEEK
    resumed = await handle.execute_update(SubscriptionWorkflow.resume, ResumeSubscription())
    assert resumed.next_renewal_at == view.anchor + WEEK
    assert resumed.paused_from_period is None
    await env.sleep(WEEK + timedelta(hours=1))
    assert [o.order_id for o in await shop.orders(2)] == [f"SUB-{SUB}-1", f"SUB-{SUB}-2"]


async def test_declined_renewal_is_retried_after_1_3_and_7_days_then_past_due_until_a_new_card(
    env: WorkflowEnvironment, shop: Running
) -> None:
    handle = await shop.start(token="tok_declined")
    view = await until(shop, lambda v: v.dunning is not None)
    assert view.dunning is not None
    assert view.status == SubscriptionStatus.ACTIVE and view.dunning.retries == 1
    first = view.dunning.first_declined_at
    assert view.dunning.next_retry_at == first + timedelta(days=1)
    assert view.last_error == f"payment for SUB-{SUB}-1 declined: card declined"

    await env.sleep(timedelta(days=8))
    view = await until(shop, lambda v: v.status == SubscriptionStatus.PAST_DUE)
    assert [a.idempotency_key for a in shop.shop.authorizations] == [
        f"SUB-{SUB}-1:authorize:{n}" for n in range(1, 5)
    ]
    assert shop.shop.templates() == ["subscription_payment_failed"] * 3 + ["subscription_past_due"]
    assert shop.placed == [] and view.next_renewal_at is None

    # Skipping or pausing a past-due subscription is refused; a new card resumes it.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(SubscriptionWorkflow.skip, SkipRenewal())
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "NotActive"
    resumed = await handle.execute_update(
        SubscriptionWorkflow.resume, ResumeSubscription(payment=PaymentDetails(token="tok_visa"))
    )
    assert resumed.status == SubscriptionStatus.ACTIVE
    placed = await shop.orders(1)
    assert placed[0].order_id == f"SUB-{SUB}-1" and placed[0].payment.token == "tok_visa"
    view = await until(shop, lambda v: len(v.orders) == 1)
    await settled(env, handle)
    assert view.dunning is None and view.last_error is None


async def test_cancel_at_period_end_places_no_further_order_and_ends_at_the_renewal(
    env: WorkflowEnvironment, shop: Running
) -> None:
    handle = await shop.start()
    view = await until(shop, lambda v: len(v.orders) == 1)
    await settled(env, handle)
    ending = await handle.execute_update(
        SubscriptionWorkflow.cancel, CancelSubscription(at_period_end=True, reason="moving abroad")
    )
    assert ending.status == SubscriptionStatus.ACTIVE and ending.cancel_at_period_end
    assert ending.next_renewal_at == view.anchor + WEEK

    result = await handle.result()  # time skips to the end of the period
    assert result.status == SubscriptionStatus.CANCELLED and result.next_renewal_at is None
    assert len(shop.placed) == 1
    assert shop.shop.templates()[-1] == "subscription_cancelled"
    assert result.history[-1].note == "cancelled: moving abroad"


async def test_a_cancel_now_after_one_at_period_end_keeps_the_first_reason_and_records_both(
    env: WorkflowEnvironment, shop: Running
) -> None:
    handle = await shop.start()
    await until(shop, lambda v: len(v.orders) == 1)
    await settled(env, handle)
    await handle.execute_update(
        SubscriptionWorkflow.cancel, CancelSubscription(at_period_end=True, reason="moving abroad")
    )
    ended = await handle.execute_update(
        SubscriptionWorkflow.cancel, CancelSubscription(reason="card reported stolen", by="support")
    )
    assert ended.status == SubscriptionStatus.CANCELLED and ended.next_renewal_at is None
    assert ended.cancel_reason == "moving abroad"
    last = ended.history[-1]
    assert (last.status, last.by) == ("cancelled", "support")
    assert last.note == (
        "cancelled at once: card reported stolen"
        " (it was to end at the end of the period: moving abroad)"
    )
    assert any(h.action == "ending" and "moving abroad" in h.note for h in ended.history)
    result = await handle.result()
    assert result.cancel_reason == "moving abroad" and len(shop.placed) == 1
    cancelled = [e for e in shop.shop.emails if e.template == "subscription_cancelled"]
    assert [e.context["reason"] for e in cancelled] == ["moving abroad"]


async def test_a_price_change_is_noticed_and_the_order_is_placed_at_the_new_list_price(
    env: WorkflowEnvironment, shop: Running
) -> None:
    await shop.start()
    await until(shop, lambda v: len(v.orders) == 1)
    shop.shop.prices["COFFEE-1KG"] = Decimal("159.00")
    await env.sleep(WEEK + timedelta(hours=1))
    placed = await shop.orders(2)
    assert [o.lines[0].unit_price for o in placed] == [Decimal("149.00"), Decimal("159.00")]
    notices = [e for e in shop.shop.emails if e.template == "subscription_price_changed"]
    assert [e.key for e in notices] == [f"subscription:{SUB}:1:price"]
    assert notices[0].context["old_total"] == "298,00 SEK"
    assert notices[0].context["new_total"] == "318,00 SEK"
    await env.sleep(WEEK)
    await shop.orders(3)
    assert len([e for e in shop.shop.emails if e.template == "subscription_price_changed"]) == 1


async def test_continue_as_new_keeps_changed_lines_address_and_history(
    env: WorkflowEnvironment, shop: Running
) -> None:
    handle = await shop.start()
    view = await until(shop, lambda v: len(v.orders) == 1)
    await settled(env, handle)
    first_run = (await handle.describe()).run_id
    shop.shop.prices["TEA-500G"] = Decimal("89.00")
    new_address = view.ship_to.model_copy(update={"city": "Uppsala", "postal_code": "753 20"})
    changed = await handle.execute_update(
        SubscriptionWorkflow.change,
        ChangeSubscription(
            lines=[SubscriptionLine(sku="TEA-500G", quantity=3)], ship_to=new_address
        ),
    )
    assert changed.lines[0].sku == "TEA-500G" and len(shop.placed) == 1

    await env.sleep(WEEK + timedelta(hours=1))
    placed = await shop.orders(2)
    assert placed[1].lines == [OrderLine(sku="TEA-500G", quantity=3, unit_price=Decimal("89.00"))]
    assert placed[1].ship_to.city == "Uppsala"
    view = await until(shop, lambda v: v.status == SubscriptionStatus.ACTIVE and len(v.orders) == 2)
    assert (await handle.describe()).run_id != first_run
    assert [h.action for h in view.history if h.action] == ["renewed", "changed", "renewed"]
    assert view.history[0].note.startswith("created")


async def test_bad_requests_are_rejected_with_a_typed_error_and_change_nothing(
    env: WorkflowEnvironment, shop: Running
) -> None:
    handle = await shop.start()
    view = await until(shop, lambda v: len(v.orders) == 1)
    await settled(env, handle)
    cases = [
        (SubscriptionWorkflow.pause, PauseSubscription(until=view.anchor), "InvalidPause"),
        (SubscriptionWorkflow.resume, ResumeSubscription(), "NotPaused"),
    ]
    for update, body, type_ in cases:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(update, body)  # type: ignore[call-overload]
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == type_
    await handle.execute_update(SubscriptionWorkflow.cancel, CancelSubscription(reason="done"))
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):  # refused, or already ended
        await handle.execute_update(SubscriptionWorkflow.skip, SkipRenewal())
    final = await handle.result()
    assert final.status == SubscriptionStatus.CANCELLED
    assert [h.status for h in final.history] == ["active", "active", "cancelled"]
