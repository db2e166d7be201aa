"""Why a workflow counts as stuck, and what operations is told to do about it."""

from __future__ import annotations

from datetime import UTC, datetime

from oms.domain.auth import OPERATOR_SUBJECT, SIMULATOR_SUBJECT
from oms.domain.lifecycle import ORDER, limits_from, stage_query
from oms.domain.ops import (
    Evidence,
    caller_advice,
    classify,
    held_advice,
    release_for,
    suggest,
)
from oms.settings import Settings


def ev(**kw: object) -> Evidence:
    base: dict[str, object] = {
        "kind": "order",
        "stage": "awaiting_pick",
        "waiting_for": "warehouse",
        "reported_problems": False,
        "activity_attempts": None,
        "workflow_task_attempts": None,
    }
    base.update(kw)
    return Evidence(**base)  # type: ignore[arg-type]


def test_a_failing_workflow_task_outranks_everything() -> None:
    assert classify(ev(reported_problems=True, activity_attempts=9), 3) == "workflow_task_failing"
    assert classify(ev(workflow_task_attempts=2), 3) == "workflow_task_failing"
    assert classify(ev(workflow_task_attempts=1), 3) == "past_deadline"


def test_an_activity_counts_as_retrying_from_the_threshold_on() -> None:
    assert classify(ev(activity_attempts=2), 3) == "past_deadline"
    assert classify(ev(activity_attempts=3), 3) == "activity_retrying"


def test_stage_specific_reasons() -> None:
    assert classify(ev(stage="awaiting_stock", waiting_for="supplier"), 3) == "backordered_too_long"
    held = ev(kind="shipment", stage="shipment_held", waiting_for="operations")
    assert classify(held, 3) == "needs_a_person"
    assert "refused the address" in suggest("needs_a_person", held, "shipment-A-S1", "A-S1")
    assert "customs data" in suggest("needs_a_person", held, "shipment-A-S1", "A-S1")


def test_a_held_shipment_is_advised_by_what_it_is_held_for() -> None:
    customs = held_advice("Customs data missing: no HS code or origin for CAP-NVY", "A", "A-S1")
    assert customs is not None and "HS code" in customs and "address" not in customs
    assert "/ops/orders/A/cancel" in customs
    address = held_advice("Carrier refused the address: InvalidAddress: postal code", "A", "A-S1")
    assert address is not None and "address from the customer" in address
    assert "POST /shipments/A-S1/address" in address
    assert "customs" not in address.lower() and "/ops/orders/A/cancel" in address
    assert held_advice("Held for some other reason", "A", "A-S1") is None


def test_suggestions_name_the_endpoint_or_the_people_to_ask() -> None:
    retry = suggest("activity_retrying", ev(waiting_for="carrier"), "shipment-A-S1", "A-S1")
    assert "carrier" in retry and "/ops/workflows/shipment-A-S1/retry-now" in retry
    approval = ev(kind="quote", stage="awaiting_approval", waiting_for="approver:finance")
    text = suggest("past_deadline", approval, "quote-Q-1", "Q-1")
    assert "finance" in text and "/quotes/Q-1/approvals" in text
    stock = suggest("backordered_too_long", ev(stage="awaiting_stock"), "order-A", "A")
    assert "/ops/orders/A/cancel" in stock


def test_stage_query_has_one_clock_per_stage_from_the_settings() -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    settings = Settings(pick_sla_s=600, step_deadline_s=60)
    query = stage_query(now, limits_from(settings))
    assert query.startswith("ExecutionStatus = 'Running' AND (")
    # A pick is stuck ten minutes after it started waiting; a held shipment at once.
    assert (
        "(OmsKind = 'shipment' AND OmsStage = 'shipment_picking' "
        "AND OmsWaitingSince < '2026-11-30T11:50:00.000000Z')"
    ) in query
    assert "OmsStage = 'shipment_held' AND OmsWaitingSince < '2026-11-30T12:00:00.000000Z'" in query
    # The same stage waits for different parties with different clocks.
    assert "OmsWaitingFor = 'payment_provider' AND OmsWaitingSince < '2026-11-30T11:59:00" in query
    assert query.endswith("OR TemporalReportedProblems IS NOT NULL)")


def test_a_credit_hold_and_a_declined_card_need_a_person_and_say_how_to_release() -> None:
    credit = ev(stage="awaiting_credit", waiting_for="finance")
    assert classify(credit, 3) == "needs_a_person"
    assert "/ops/orders/A/release-hold" in suggest("needs_a_person", credit, "order-A", "A")
    card = ev(stage="awaiting_payment", waiting_for="customer")
    assert classify(card, 3) == "needs_a_person"
    # Waiting for the payment provider is a system being slow, not a person.
    assert classify(ev(stage="awaiting_payment", waiting_for="payment_provider"), 3) == (
        "past_deadline"
    )


def test_a_stage_whose_limit_is_the_suppliers_lead_time_uses_the_deadline() -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    query = stage_query(now, limits_from(Settings()))
    assert (
        "(OmsKind = 'replenishment' AND OmsStage = 'awaiting_goods' "
        "AND OmsDeadline < '2026-11-30T12:00:00.000000Z')"
    ) in query


def test_a_replenishment_without_supplier_needs_a_person_and_says_how_to_retry() -> None:
    evidence = Evidence(
        kind="replenishment",
        stage="no_supplier",
        waiting_for="purchasing",
        reported_problems=False,
        activity_attempts=None,
        workflow_task_attempts=None,
    )
    reason = classify(evidence, retry_threshold=3)
    assert reason == "needs_a_person"
    advice = suggest(reason, evidence, "replenish-WH-STO-CAP-NVY-1", "WH-STO-CAP-NVY-1")
    assert "/replenishment/replenish-WH-STO-CAP-NVY-1/retry" in advice


def test_an_unconfirmed_purchase_order_past_the_lead_time_says_to_chase_and_confirm() -> None:
    evidence = Evidence(
        kind="replenishment",
        stage="awaiting_supplier",
        waiting_for="supplier",
        reported_problems=False,
        activity_attempts=None,
        workflow_task_attempts=None,
    )
    reason = classify(evidence, retry_threshold=3)
    assert reason == "past_deadline"
    advice = suggest(reason, evidence, "replenish-WH-STO-CAP-NVY-1", "WH-STO-CAP-NVY-1")
    assert "/replenishment/replenish-WH-STO-CAP-NVY-1/confirm" in advice


def test_release_hold_releases_each_hold_as_its_stage_says() -> None:
    assert release_for("held_for_review", held=True) == "release"
    assert release_for("awaiting_credit", held=False) == "approve_credit"
    assert release_for("awaiting_payment", held=False) == "retry_payment"
    # A purchase-order approval waits for its approvers: not this route's to release.
    assert release_for("awaiting_po_approval", held=False) is None
    # A run that keeps no stage shows a review hold only by its view's hold.
    assert release_for(None, held=True) == "release"
    assert release_for(None, held=False) is None
    stages = {s.stage for s in ORDER.steps if s.status == "on_hold"}
    assert stages == {
        "held_for_review",
        "awaiting_credit",
        "awaiting_payment",
        "awaiting_po_approval",
    }


def test_a_refused_caller_is_told_what_fixes_it() -> None:
    warehouse = caller_advice(SIMULATOR_SUBJECT)
    assert "picking" in warehouse and "OMS_SIMULATOR_TOKEN" in warehouse
    operator = caller_advice(OPERATOR_SUBJECT)
    assert "--role admin" in operator and "OMS_TOKEN" in operator
    assert "OMS_SIMULATOR_TOKEN" not in operator and "picking" not in operator
    dev = caller_advice("dev-warehouse")
    assert "OMS_AUTH_DEV_TOKENS" in dev and "--role warehouse" in dev
