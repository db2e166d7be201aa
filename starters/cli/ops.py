"""``oms ops``: stuck workflows and the interventions operations can make."""

from __future__ import annotations

import json
from typing import get_args

import click

from oms.domain.ops import STUCK_KINDS
from oms.models.ops import ResendNotification
from oms.settings import Settings
from starters.cli._commands import post_command, reason_command
from starters.cli._common import (
    api,
    output_flag,
    output_format,
    params,
    pass_settings,
    send,
    show,
    with_role,
)

WHY = "why (recorded in history)"
# An operator's reason is internal; what the customer reads is chosen apart.
INTERNAL_WHY = "why (recorded in history; internal, never emailed to the customer)"
CUSTOMER_NOTE = "the reason the customer's email gives, as written (default: the email gives none)"
NOTIFICATIONS = get_args(ResendNotification.model_fields["notification"].annotation)
REASON = click.option("--reason", required=True, help=WHY)


@click.group(help="operations: stuck workflows and interventions")
def ops() -> None:
    pass


@ops.command(help="every stuck workflow, dead webhook delivery and refused caller, and why")
@click.option("--kind", type=click.Choice(STUCK_KINDS))
@click.option("--stage")
@click.option("--warehouse")
@click.option("--min-age-s", "min_age_s", type=int)
@output_flag("--json", output="json", help="print the raw JSON (as -o json does)")
@pass_settings
def stuck(
    settings: Settings,
    kind: str | None,
    stage: str | None,
    warehouse: str | None,
    min_age_s: int | None,
) -> int:
    query = params(kind=kind, stage=stage, warehouse=warehouse, min_age_s=min_age_s)
    with api(settings) as client:
        response = client.get("/ops/stuck", params=query)
    # The output format of every command (-o, OMS_OUTPUT; json by default); its table is a
    # block per item with the suggested action, then the count.
    if output_format() != "table" or response.status_code >= 400:
        return show(response)
    body = response.json()
    for item in body["items"]:
        print(
            f"{item['kind']:<9} {item['workflow_id']:<28} {item['reason']:<22} "
            f"{item['stage'] or '-':<20} since {item['since'] or '-'}\n"
            f"          {item['last_error'] or ''}\n"
            f"          -> {item['suggested_action']}\n          {item['ui_url']}"
        )
    print(f"{body['count']} stuck ({body['took_ms']} ms)")
    return 0


ops.add_command(
    reason_command(
        "retry-now",
        "/ops/workflows/{workflow_id}/retry-now",
        "retry a failing call at once",
        reason_help=WHY,
    )
)
ops.add_command(
    post_command(
        "cancel",
        "/ops/orders/{order_id}/cancel",
        "force-cancel with full compensation; the customer is emailed",
        click.option("--reason", required=True, help=INTERNAL_WHY),
        click.option("--customer-note", "customer_note", help=CUSTOMER_NOTE),
    )
)


@ops.command(
    "release-hold",
    help="release an order on hold: a review hold, a credit hold (finance) or a declined card",
)
@click.argument("order_id")
@REASON
@click.option("--role", help="admin tokens only: the role to act as")
@click.option("--token", help="a new card token to authorize")
@pass_settings
def release_hold(
    settings: Settings, order_id: str, reason: str, role: str | None, token: str | None
) -> int:
    body = with_role({"reason": reason, "payment_token": token}, role)
    return send(settings, f"/ops/orders/{order_id}/release-hold", body)


ops.add_command(
    post_command(
        "resend",
        "/ops/orders/{order_id}/resend",
        "send a customer email again",
        REASON,
        # No default: an email resent that was not meant (it was order_confirmed) is worse
        # than a usage error.
        click.option(
            "--notification",
            required=True,
            type=click.Choice(NOTIFICATIONS),
            help="which of the order's emails to send again",
        ),
    )
)


@ops.command(
    "correct-address",
    help="give a shipment the carrier refused the address of (or one still picking) a "
    "corrected address in the same country: it is labelled again and ships",
)
@click.argument("shipment_id")
@click.option(
    "--ship-to",
    required=True,
    help='the corrected address as JSON: {"name", "line1", "postal_code", "city", "country"}',
)
@REASON
@pass_settings
def correct_address(settings: Settings, shipment_id: str, ship_to: str, reason: str) -> int:
    try:
        address = json.loads(ship_to)
    except ValueError as err:
        raise click.BadParameter(f"not JSON: {err}", param_hint="--ship-to") from err
    body = {"ship_to": address, "reason": reason}
    return send(settings, f"/shipments/{shipment_id}/address", body)


@ops.command(help="move a shipment that has not shipped to another warehouse")
@click.argument("shipment_id")
@REASON
@click.option("--to", help="warehouse id (default: the nearest other)")
@pass_settings
def reroute(settings: Settings, shipment_id: str, reason: str, to: str | None) -> int:
    body = {"reason": reason, "shipment_id": shipment_id, "warehouse_id": to}
    return send(settings, f"/ops/shipments/{shipment_id}/reroute", body)
