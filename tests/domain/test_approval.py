"""Approval rules: which roles must approve a proposal, and which decisions count."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from oms.domain.approval import (
    ApprovalRefused,
    check_credit_approval,
    check_decision,
    escalate_role,
    order_rules,
    required_approvals,
)
from oms.domain.pricing import price_quote
from oms.models.orders import CreditApproval
from oms.models.quotes import (
    ApprovalDecision,
    ApprovalPolicy,
    ApprovalRequirement,
    ApprovalRule,
    LineOverride,
    PricedLine,
    Proposal,
    QuoteLineRequest,
)
from oms.rules import load_approval_policy

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> ApprovalPolicy:
    return load_approval_policy()


def proposal(total: str, discount_pct: str, skus: int = 1) -> Proposal:
    lines = [
        PricedLine(
            sku=f"SKU-{i}",
            quantity=1,
            list_price=Decimal(1),
            unit_price=Decimal(1),
            discount_pct=Decimal(0),
        )
        for i in range(skus)
    ]
    return Proposal(
        round=1,
        lines=lines,
        list_total=Decimal(total),
        total=Decimal(total),
        discount_pct=Decimal(discount_pct),
        by="seller",
        at=AT,
    )


def requirement(role: str, **decided: str) -> ApprovalRequirement:
    return ApprovalRequirement.model_validate(
        {
            "rule_id": f"rule-{role}",
            "rule_name": f"rule for {role}",
            "role": role,
            "original_role": role,
            "requested_at": AT,
            **decided,
        }
    )


def decide(approver: str, role: str, decision: str = "approve") -> ApprovalDecision:
    return ApprovalDecision.model_validate(
        {"approver": approver, "role": role, "decision": decision}
    )


def roles(rules: list[ApprovalRule]) -> list[str]:
    return [rule.role for rule in rules]


def test_fifteen_percent_off_150_000_sek_needs_a_sales_manager_and_finance(
    demo: ApprovalPolicy,
) -> None:
    # Priced for real: 100 units at 1 764.71 SEK list, the seller overrides to 1 500.00.
    priced = price_quote(
        [QuoteLineRequest(sku="PANEL", quantity=100)],
        {"PANEL": Decimal("1764.71")},
        "standard",
        [LineOverride(sku="PANEL", unit_price=Decimal("1500.00"), reason="framework deal")],
        round=1,
        by="seller",
        at=AT,
    )
    assert priced.total == Decimal("150000.00")
    assert priced.discount_pct == Decimal("15.00")
    assert roles(required_approvals(priced, demo)) == ["sales_manager", "finance"]


@pytest.mark.parametrize(
    ("total", "discount_pct", "skus", "expected"),
    [
        ("99999.99", "9.99", 20, []),
        ("99999.99", "10", 1, ["sales_manager"]),
        ("100000", "0", 1, ["finance"]),
        ("5000", "0", 21, ["sales_manager"]),
        ("250000", "12", 25, ["sales_manager", "finance", "sales_manager"]),
    ],
)
def test_every_matching_demo_rule_is_required(
    demo: ApprovalPolicy, total: str, discount_pct: str, skus: int, expected: list[str]
) -> None:
    assert roles(required_approvals(proposal(total, discount_pct, skus), demo)) == expected


def test_a_rule_matches_only_when_all_its_conditions_hold() -> None:
    both = ApprovalRule(
        rule_id="big-discount-on-big-order",
        name="Big discount on a big order",
        role="cfo",
        min_total=Decimal(50000),
        min_discount_pct=Decimal(20),
    )
    always = ApprovalRule(rule_id="always", name="Every quote", role="sales")
    policy = ApprovalPolicy(rules=[both, always])
    assert roles(required_approvals(proposal("60000", "19.99"), policy)) == ["sales"]
    assert roles(required_approvals(proposal("49999", "25"), policy)) == ["sales"]
    assert roles(required_approvals(proposal("60000", "20"), policy)) == ["cfo", "sales"]


def test_a_duplicate_sku_counts_once_towards_the_sku_rule(demo: ApprovalPolicy) -> None:
    twenty = proposal("1000", "0", skus=20)
    repeated = twenty.model_copy(update={"lines": [*twenty.lines, twenty.lines[0]]})
    assert required_approvals(repeated, demo) == []


def test_a_decision_answers_the_pending_requirement_of_its_role() -> None:
    reqs = [requirement("sales_manager"), requirement("finance")]
    assert check_decision(reqs, decide("Frida", "finance")) == 1
    assert check_decision(reqs, decide("Sam", "sales_manager", "reject")) == 0


def test_the_wrong_role_is_refused_naming_the_roles_awaited() -> None:
    reqs = [
        requirement("sales_manager"),
        requirement("finance", decision="approve", decided_by="Frida"),
    ]
    with pytest.raises(ApprovalRefused) as caught:
        check_decision(reqs, decide("Frank", "finance"))
    assert caught.value.code == "WrongRole"
    assert "sales_manager" in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_the_same_person_cannot_approve_twice_even_in_another_role() -> None:
    reqs = [
        requirement("sales_manager", decision="approve", decided_by="Alex Berg"),
        requirement("finance"),
    ]
    with pytest.raises(ApprovalRefused) as caught:
        check_decision(reqs, decide(" alex  berg", "finance"))
    assert caught.value.code == "AlreadyDecided"
    assert check_decision(reqs, decide("Frida", "finance")) == 1


def test_nothing_to_approve_when_every_requirement_is_decided_or_none_exist() -> None:
    decided = [requirement("finance", decision="approve", decided_by="Frida")]
    for reqs in (decided, []):
        with pytest.raises(ApprovalRefused) as caught:
            check_decision(reqs, decide("Other", "finance"))
        assert caught.value.code == "NothingToApprove"


def test_an_escalated_requirement_takes_the_new_role_or_the_original_one() -> None:
    escalated = requirement("sales_manager").model_copy(
        update={"role": "sales_director", "escalated_at": AT + timedelta(hours=72)}
    )
    assert check_decision([escalated], decide("Dana", "sales_director")) == 0
    assert check_decision([escalated], decide("Sam", "sales_manager")) == 0
    with pytest.raises(ApprovalRefused) as caught:
        check_decision([escalated], decide("Frida", "finance"))
    assert caught.value.code == "WrongRole"
    assert "sales_director" in caught.value.reason


def test_escalation_follows_the_demo_chain_and_stops_at_the_top(demo: ApprovalPolicy) -> None:
    assert escalate_role("sales", demo) == "sales_manager"
    assert escalate_role("sales_manager", demo) == "sales_director"
    assert escalate_role("finance", demo) == "cfo"
    assert escalate_role("cfo", demo) is None
    assert escalate_role("sales_director", demo) is None


def test_load_policy_reads_json_and_rejects_an_invalid_rule(tmp_path: Path) -> None:
    good = tmp_path / "rules.json"
    good.write_text(
        json.dumps(
            {
                "rules": [
                    {"rule_id": "r", "name": "Big", "role": "finance", "min_total": "1000.50"}
                ],
                "escalation": {"finance": "cfo"},
            }
        ),
        encoding="utf-8",
    )
    policy = load_approval_policy(str(good))
    assert policy.rules[0].min_total == Decimal("1000.50")
    assert policy.escalation == {"finance": "cfo"}

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rules": [{"rule_id": "r", "name": "x", "role": "king"}]}))
    with pytest.raises(ValidationError):
        load_approval_policy(bad)


def test_a_company_order_matches_the_total_and_sku_rules_never_a_discount_rule(
    demo: ApprovalPolicy,
) -> None:
    """A purchase order at list prices: the order-value rule at 100 000, the SKU rule past
    20 SKUs; a discount rule never (an order has no discount)."""
    assert order_rules(Decimal("99999.99"), 1, demo) == []
    assert [r.rule_id for r in order_rules(Decimal("100000"), 1, demo)] == ["total-100k"]
    assert [r.rule_id for r in order_rules(Decimal("10"), 21, demo)] == ["many-skus"]
    unconditional = ApprovalPolicy(rules=[ApprovalRule(rule_id="x", name="x", role="cfo")])
    assert order_rules(Decimal("1"), 1, unconditional) == []


@pytest.mark.parametrize("role", ["finance", "cfo"])
def test_finance_or_the_cfo_may_let_an_order_held_over_its_credit_limit(role: str) -> None:
    check_credit_approval(True, CreditApproval(approver="Eva", role=role))


def test_a_credit_approval_is_refused_for_another_role_or_an_order_not_held() -> None:
    with pytest.raises(ApprovalRefused) as wrong:
        check_credit_approval(True, CreditApproval(approver="Sven", role="sales"))
    assert wrong.value.code == "WrongRole"
    assert str(wrong.value) == "only finance can approve credit over the limit, not sales"
    with pytest.raises(ApprovalRefused) as idle:
        check_credit_approval(False, CreditApproval(approver="Eva", role="finance"))
    assert idle.value.code == "NotAwaitingCredit"
    assert str(idle.value) == "the order is not waiting for a credit approval"
