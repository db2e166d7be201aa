"""Risk rules: whether an order should be held for review before allocation.

Pure: the facts come in (the order's, and the customer's order counts from the store),
the findings go out (``oms.rules.load_risk_rules`` reads the rules' file).
"""

from __future__ import annotations

from oms.models.orders import OrderInput, OrderOrigin
from oms.models.risk import CustomerOrders, RiskCheck, RiskRules

RISK_REVIEW = "risk_review"


def order_origin(inp: OrderInput) -> OrderOrigin:
    """Who placed the order ``inp`` starts: its ``origin``, which the OMS sets on the orders
    it places itself; for an input from before that field, what only the OMS could have set
    (``POST /orders`` refuses the ``exchange`` payment and takes no authorization id): an
    exchange payment is a return's replacement, an authorization made before the order a
    subscription's renewal."""
    if inp.origin is not None:
        return inp.origin
    if inp.payment.method == "exchange":
        return "replacement"
    if inp.authorization_id is not None:
        return "renewal"
    return "customer"


def review(check: RiskCheck, orders: CustomerOrders, rules: RiskRules) -> list[str]:
    """One finding (a sentence naming the rule and the facts) per rule ``check`` breaks."""
    findings = []
    limit = rules.first_order_max_total.get(check.currency)
    if orders.earlier == 0 and limit is not None and check.total > limit:
        findings.append(
            f"first order of {check.customer_id} totals {check.total} {check.currency}, "
            f"above {limit}"
        )
    if (
        rules.billing_country_must_match
        and check.bill_country is not None
        and check.bill_country != check.ship_country
    ):
        findings.append(
            f"billing country {check.bill_country} differs from shipping country "
            f"{check.ship_country}"
        )
    most = rules.max_orders_per_hour
    if most is not None and orders.last_hour > most:
        findings.append(
            f"{orders.last_hour} orders from {check.customer_id} within an hour, above {most}"
        )
    return findings
