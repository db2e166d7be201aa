"""Merchant rules shipped as data, and the one place they are read from a file.

``APPROVAL_RULES`` is the demo approval policy, ``RISK_RULES`` the rules that put an order on
hold for review before allocation, ``VAT_RATES`` and ``EXCHANGE_RATES`` the money tables
(each row valid from a date). A merchant points the settings (``OMS_APPROVAL_RULES_PATH``,
``OMS_RISK_RULES_PATH``, ``OMS_VAT_RATES_PATH``, ``OMS_EXCHANGE_RATES_PATH``) at files of
their own; the loaders here read either. The rules that use the tables (``oms.domain``) are
pure and read no file: a workflow may call them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from oms.domain.fx import exchange_table
from oms.models.money import ExchangeTable, VatTable
from oms.models.quotes import ApprovalPolicy
from oms.models.risk import RiskRules

APPROVAL_RULES = Path(__file__).resolve().with_name("approval_rules.json")
RISK_RULES = Path(__file__).resolve().with_name("risk_rules.json")
VAT_RATES = Path(__file__).resolve().with_name("vat_rates.json")
EXCHANGE_RATES = Path(__file__).resolve().with_name("exchange_rates.json")

M = TypeVar("M", bound=BaseModel)


def _read(model: type[M], path: str | Path) -> M:
    return model.model_validate_json(Path(path).read_text(encoding="utf-8"))


def load_approval_policy(path: str | Path | None = None) -> ApprovalPolicy:
    """The approval policy (``{"rules": [...], "escalation": {...}}``) at ``path``, or the
    demo one. Raises ``OSError`` if the file cannot be read and ``pydantic.ValidationError``
    if it is not a valid policy."""
    return _read(ApprovalPolicy, path or APPROVAL_RULES)


def load_risk_rules(path: str | Path | None = None) -> RiskRules:
    """The risk rules at ``path``, or the shipped ones. Raises ``OSError`` and
    ``pydantic.ValidationError``."""
    return _read(RiskRules, path or RISK_RULES)


def load_vat_rates(path: str | Path | None = None) -> VatTable:
    """The VAT table at ``path``, or the shipped one. Raises ``OSError`` and
    ``pydantic.ValidationError``."""
    return _read(VatTable, path or VAT_RATES)


def load_exchange_rates(path: str | Path | None = None) -> ExchangeTable:
    """The exchange-rate table (``{"base", "rates": [{"valid_from", CUR: rate}]}``) at
    ``path``, or the shipped one. Raises ``OSError``, ``ValueError`` (not JSON),
    ``KeyError`` and ``pydantic.ValidationError`` (not such a table)."""
    return exchange_table(json.loads(Path(path or EXCHANGE_RATES).read_text(encoding="utf-8")))
