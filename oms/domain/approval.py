"""Approval rules of a quote: who must approve a proposal, and whether a decision counts.

Pure rules on plain models (``oms.rules.load_approval_policy`` reads a policy file). Every
rule a proposal matches names a role that must approve; one rejection rejects. Each person
decides at most once per proposal, whatever role they act in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from oms.models.orders import CreditApproval
from oms.models.quotes import (
    ApprovalDecision,
    ApprovalPolicy,
    ApprovalRequirement,
    ApprovalRule,
    Proposal,
)


class ApprovalRefused(Exception):
    """A decision the proposal cannot take; ``code`` names why for callers and error types.

    Codes: ``WrongRole``, ``AlreadyDecided``, ``NothingToApprove``, ``NotAwaitingCredit``.
    """

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


# Who may let an order over its company's credit limit.
CREDIT_APPROVER_ROLES = ("finance", "cfo")


def check_credit_approval(awaiting: bool, approval: CreditApproval) -> None:
    """Whether ``approval`` may let an order over its company's credit limit.

    Raises ``ApprovalRefused`` with code ``NotAwaitingCredit`` when the order is not held
    over the limit (``awaiting`` is False), ``WrongRole`` when the approver is neither
    finance nor the CFO.
    """
    if not awaiting:
        raise ApprovalRefused("the order is not waiting for a credit approval", "NotAwaitingCredit")
    if approval.role not in CREDIT_APPROVER_ROLES:
        raise ApprovalRefused(
            f"only finance can approve credit over the limit, not {approval.role}", "WrongRole"
        )


def rule_matches(rule: ApprovalRule, proposal: Proposal) -> bool:
    """Whether every condition ``rule`` sets holds for ``proposal`` (unset ones are ignored)."""
    if rule.min_total is not None and proposal.total < rule.min_total:
        return False
    if rule.min_discount_pct is not None and proposal.discount_pct < rule.min_discount_pct:
        return False
    skus = len({line.sku for line in proposal.lines})
    return rule.min_skus is None or skus >= rule.min_skus


def required_approvals(proposal: Proposal, policy: ApprovalPolicy) -> list[ApprovalRule]:
    """Every rule of ``policy`` that ``proposal`` matches, in the policy's order."""
    return [rule for rule in policy.rules if rule_matches(rule, proposal)]


def order_rules(total: Decimal, skus: int, policy: ApprovalPolicy) -> list[ApprovalRule]:
    """The rules a company order at list prices matches (a purchase-order approval): those
    on its total and its number of SKUs; a discount rule never (an order has no discount)."""
    return [
        rule
        for rule in policy.rules
        if rule.min_discount_pct is None
        and (rule.min_total is None or total >= rule.min_total)
        and (rule.min_skus is None or skus >= rule.min_skus)
        and (rule.min_total is not None or rule.min_skus is not None)
    ]


def requirements(
    proposal: Proposal, policy: ApprovalPolicy, now: datetime
) -> list[ApprovalRequirement]:
    """One pending approval per rule the proposal matches, requested at ``now``."""
    return [
        ApprovalRequirement(
            rule_id=r.rule_id,
            rule_name=r.name,
            role=r.role,
            original_role=r.role,
            requested_at=now,
        )
        for r in required_approvals(proposal, policy)
    ]


def check_decision(requirements: Sequence[ApprovalRequirement], decision: ApprovalDecision) -> int:
    """Index of the pending requirement ``decision`` answers.

    A requirement that escalated may still be decided by its original role.
    Raises ``ApprovalRefused`` with code ``NothingToApprove`` when nothing is
    pending, ``AlreadyDecided`` when this approver already decided any of the
    requirements, and ``WrongRole`` when no pending requirement awaits the role.
    """
    pending = [i for i, r in enumerate(requirements) if r.decision is None]
    if not pending:
        raise ApprovalRefused("no approval is pending", "NothingToApprove")
    who = _person(decision.approver)
    for r in requirements:
        if r.decided_by is not None and _person(r.decided_by) == who:
            raise ApprovalRefused(
                f"{decision.approver} already decided this proposal (as {r.role})",
                "AlreadyDecided",
            )
    for index in pending:
        if requirements[index].role == decision.role:
            return index
    for index in pending:
        if requirements[index].original_role == decision.role:
            return index
    awaited = ", ".join(sorted({requirements[i].role for i in pending}))
    raise ApprovalRefused(
        f"no approval pending for role {decision.role}; awaiting: {awaited}", "WrongRole"
    )


def escalate_role(role: str, policy: ApprovalPolicy) -> str | None:
    """The role above ``role`` that an unanswered approval escalates to, if any."""
    return policy.escalation.get(role)


def _person(name: str) -> str:
    return " ".join(name.split()).casefold()
