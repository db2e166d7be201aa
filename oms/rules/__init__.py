"""Merchant rules shipped as data: the demo approval policy and the risk rules.

``APPROVAL_RULES`` is the demo policy file; load it with
``oms.domain.approval.load_policy``. ``RISK_RULES`` holds the rules that put an order
on hold for review before allocation; load it with ``oms.domain.risk.load_rules``.
``VAT_RATES`` (``oms.domain.tax.load_rates``) and ``EXCHANGE_RATES``
(``oms.domain.fx.load_rates``) are the money tables, each row valid from a date.
"""

from __future__ import annotations

from pathlib import Path

APPROVAL_RULES = Path(__file__).resolve().with_name("approval_rules.json")
RISK_RULES = Path(__file__).resolve().with_name("risk_rules.json")
VAT_RATES = Path(__file__).resolve().with_name("vat_rates.json")
EXCHANGE_RATES = Path(__file__).resolve().with_name("exchange_rates.json")
