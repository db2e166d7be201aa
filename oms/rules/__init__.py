"""Merchant rules shipped as data: the demo approval policy.

``APPROVAL_RULES`` is the demo policy file; load it with
``oms.domain.approval.load_policy``.
"""

from __future__ import annotations

from pathlib import Path

APPROVAL_RULES = Path(__file__).resolve().with_name("approval_rules.json")
