"""``oms quote``: B2B quotes from request to order."""

from __future__ import annotations

import click

from oms.settings import Settings
from starters.cli._commands import decision_command, post_command, reason_command, resource_group
from starters.cli._common import pass_settings, send


def _pairs(values: tuple[str, ...], what: str) -> list[tuple[str, str, str]]:
    """Parse ``SKU=PRICE`` or ``SKU=PRICE:reason`` arguments."""
    parsed = []
    for value in values:
        sku, _, rest = value.partition("=")
        price, _, reason = rest.partition(":")
        if not sku or not price:
            raise SystemExit(f"{what} must look like SKU=PRICE[:reason], got {value!r}")
        parsed.append((sku, price, reason))
    return parsed


quote = resource_group(
    "quote",
    "B2B quotes: request, propose, counter, approve, accept",
    "/quotes/{quote_id}",
    list_options=(
        click.option("--status"),
        click.option("--company", "company_id", help="one company's quotes"),
    ),
    create=("request", "request a quote from a JSON file (- for stdin)"),
)


@quote.command(help="seller: propose prices")
@click.argument("quote_id")
@click.option("--override", multiple=True, help="SKU=PRICE:reason")
@click.option("--comment")
@pass_settings
def propose(
    settings: Settings, quote_id: str, override: tuple[str, ...], comment: str | None
) -> int:
    overrides = [
        {"sku": sku, "unit_price": price, "reason": reason or "seller override"}
        for sku, price, reason in _pairs(override, "--override")
    ]
    return send(
        settings, f"/quotes/{quote_id}/proposals", {"overrides": overrides, "comment": comment}
    )


@quote.command(help="buyer: counter with target prices")
@click.argument("quote_id")
@click.option("--target", multiple=True, help="SKU=PRICE")
@click.option("--comment")
@pass_settings
def counter(settings: Settings, quote_id: str, target: tuple[str, ...], comment: str | None) -> int:
    lines = [{"sku": s, "target_unit_price": p} for s, p, _ in _pairs(target, "--target")]
    return send(
        settings, f"/quotes/{quote_id}/counter-offers", {"lines": lines, "comment": comment}
    )


for _command in (
    post_command(
        "accept",
        "/quotes/{quote_id}/accept",
        "buyer: accept and order",
        click.option("--po", "po_number", required=True, help="purchase order number"),
        click.option(
            "--terms",
            "payment_terms",
            default=None,
            type=click.Choice(["net30", "net60"]),
            help="the company's terms (the merchant's; other terms are refused)",
        ),
    ),
    decision_command(
        "approve", "/quotes/{quote_id}/approvals", "approver: approve the current proposal"
    ),
    decision_command(
        "reject", "/quotes/{quote_id}/approvals", "approver: reject the current proposal"
    ),
    reason_command("withdraw", "/quotes/{quote_id}/withdraw", required=False),
    reason_command("reopen", "/quotes/{quote_id}/reopen", required=False),
):
    quote.add_command(_command)
