"""``oms subscription``: recurring orders, one workflow per subscription."""

from __future__ import annotations

from typing import Any

import click

from oms.settings import Settings
from starters.cli._commands import post_command, resource_group
from starters.cli._common import pass_settings, send

subscription = resource_group(
    "subscription",
    "create, get, list, pause, resume, skip or cancel subscriptions",
    "/subscriptions/{subscription_id}",
    list_options=(
        click.option(
            "--customer", "customer_id", help="one customer's (a buyer's token sees only their own)"
        ),
        click.option("--status", type=click.Choice(["active", "paused", "past_due", "cancelled"])),
    ),
    create=("create", "create a subscription from a JSON file (- for stdin)"),
)


def _act(settings: Settings, subscription_id: str, action: str, body: dict[str, Any]) -> int:
    return send(settings, f"/subscriptions/{subscription_id}/{action}", body)


@subscription.command(help="pause renewals, until a moment (ISO 8601) or until resumed")
@click.argument("subscription_id")
@click.option("--until", help="e.g. 2027-01-31T08:00:00Z")
@pass_settings
def pause(settings: Settings, subscription_id: str, until: str | None) -> int:
    return _act(settings, subscription_id, "pause", {"until": until} if until else {})


@subscription.command(help="resume a paused or past-due subscription, optionally on a new card")
@click.argument("subscription_id")
@click.option("--token", help="the new card's payment token")
@pass_settings
def resume(settings: Settings, subscription_id: str, token: str | None) -> int:
    body = {"payment": {"method": "card", "token": token}} if token else {}
    return _act(settings, subscription_id, "resume", body)


for _command in (
    post_command(
        "skip", "/subscriptions/{subscription_id}/skip", "the next renewal places no order"
    ),
    post_command(
        "cancel",
        "/subscriptions/{subscription_id}/cancel",
        "end now, or with --at-period-end at the next renewal",
        click.option("--at-period-end", is_flag=True),
        click.option("--reason", default="cancelled by the customer"),
    ),
):
    subscription.add_command(_command)
