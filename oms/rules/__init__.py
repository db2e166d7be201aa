"""Merchant rules shipped as data: the demo approval policy and the risk rules.

``APPROVAL_RULES`` is the demo policy file; load it with
``oms.domain.approval.load_policy``. ``RISK_RULES`` holds the rules that put an order
on hold for review before allocation; load it with ``oms.domain.risk.load_rules``.
"""

from __future__ import annotations

from pathlib import Path

APPROVAL_RULES = Path(__file__).resolve().with_name("approval_rules.json")
RISK_RULES = Path(__file__).resolve().with_name("risk_rules.json")
