"""Converting amounts between currencies with the exchange-rate table (data with dates).

The merchant's thresholds (approvals, credit limits, return auto-authorization) and reports
are in one base currency (``OMS_BASE_CURRENCY``); an amount in another currency is
converted with the rates valid on the day it applies to, through the table's own base.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from oms.domain.money import round_money
from oms.models.money import ExchangeRates, ExchangeTable, OrderTotals


class NoExchangeRate(Exception):
    """The table has no rate for a currency on a date."""


def exchange_table(raw: dict[str, Any]) -> ExchangeTable:
    """The exchange-rate table from its JSON form (``{"base", "rates": [{"valid_from", CUR:
    rate}]}``; ``oms.rules.load_exchange_rates`` reads the file). Raises ``KeyError`` and
    ``pydantic.ValidationError`` when ``raw`` is not such a table."""
    rows = [
        ExchangeRates(
            valid_from=row["valid_from"],
            per_unit={k: Decimal(v) for k, v in row.items() if k != "valid_from"},
        )
        for row in raw["rates"]
    ]
    return ExchangeTable(base=raw["base"], rates=rows, note=raw.get("note", ""))


def _per_unit(table: ExchangeTable, currency: str, on: date) -> Decimal:
    if currency == table.base:
        return Decimal(1)
    rows = [r for r in table.rates if r.valid_from <= on and currency in r.per_unit]
    if not rows:
        raise NoExchangeRate(f"no {currency}/{table.base} rate on {on.isoformat()}")
    return max(rows, key=lambda r: r.valid_from).per_unit[currency]


def rate(table: ExchangeTable, source: str, target: str, on: date) -> Decimal:
    """Units of ``target`` per one unit of ``source`` on ``on``. Raises ``NoExchangeRate``."""
    if source == target:
        return Decimal(1)
    return _per_unit(table, source, on) / _per_unit(table, target, on)


def convert(amount: Decimal, source: str, target: str, on: date, table: ExchangeTable) -> Decimal:
    """``amount`` of ``source`` in ``target``, rounded to ``target``'s minor unit.

    Raises ``NoExchangeRate``.
    """
    if source == target:
        return round_money(Decimal(amount), target)
    return round_money(Decimal(amount) * rate(table, source, target, on), target)


def in_base(amount: Decimal, currency: str, totals: OrderTotals | None) -> tuple[Decimal, str]:
    """``amount`` of an order in the merchant's base currency, at the rate its totals
    recorded when it was placed: ``(amount, currency)`` unchanged for an order in the base
    currency or one without that rate."""
    if totals is None or totals.base_rate is None or totals.base_currency in (None, currency):
        return amount, currency
    base = totals.base_currency
    return round_money(Decimal(amount) * totals.base_rate, base), base
