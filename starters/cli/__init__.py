"""``oms``: run the OMS's processes and do everyday operations from a terminal.

Operations go through the HTTP API (``OMS_API_URL``), so the CLI gets the same
validation and errors as any other client. Every request carries
``Authorization: Bearer $OMS_TOKEN`` (unset: the token ``make run`` writes to
``OMS_TOKEN_FILE``, ``var/api-token``, else ``dev-admin``, which works only where dev tokens
are on); who did something is the token's, never a flag's.
``oms token create/revoke/list`` manage stored tokens directly in the store.

One module per resource: ``orders`` (and shipments), ``quotes``, ``returns``, ``ops``,
``stock`` (and reorder policies), ``replenishment``, ``reports``, ``tokens``, ``webhooks``,
``catalogue`` (products, warehouses, companies, suppliers, price lists, shipping quotes);
``dev`` runs processes. Each command returns its exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click
import httpx

from starters.cli import (
    catalogue,
    dev,
    ops,
    orders,
    quotes,
    replenishment,
    reports,
    returns,
    stock,
    subscriptions,
    tokens,
    webhooks,
)
from starters.cli._common import OUTPUTS, configure, output_on_every_command, settings_of

HELP = """Run the OMS's processes and do everyday operations from a terminal.

Operations go through the HTTP API (--api-url, or OMS_API_URL) with 'Authorization: Bearer
<token>' (--token, or OMS_TOKEN; unset, the token 'make run' writes to var/api-token
(OMS_TOKEN_FILE), else dev-admin, which works only where dev tokens are on). 'oms token'
manages stored tokens directly in the store. Shell completion:
eval "$(_OMS_COMPLETE=bash_source oms)" (zsh_source, fish_source for other shells)."""


class OmsGroup(click.Group):
    """The root command: an API that cannot be reached is one line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except httpx.TransportError as err:
            url = settings_of(ctx).api_url
            click.echo(
                f"error: cannot reach the OMS API at {url}: {err or type(err).__name__}"
                " (is it running? 'make run' starts it)",
                err=True,
            )
            ctx.exit(2)


@click.group(cls=OmsGroup, help=HELP)
@click.version_option(package_name="temporal-oms", prog_name="oms")
@click.option("--api-url", envvar="OMS_API_URL", help="the OMS API (default OMS_API_URL)")
@click.option(
    "--token",
    envvar="OMS_TOKEN",
    help="bearer token (default OMS_TOKEN, else the one in OMS_TOKEN_FILE: var/api-token)",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(OUTPUTS),
    envvar="OMS_OUTPUT",
    default="json",
    show_default=True,
    help="how answers are printed",
)
@click.pass_context
def cli(ctx: click.Context, api_url: str | None, token: str | None, output: str) -> None:
    configure(ctx, api_url=api_url, token=token, output=output)


@cli.result_callback()
def _exit(code: int | None, **_options: Any) -> None:
    sys.exit(code or 0)


for _command in (
    *dev.PROCESSES,
    dev.codec_key,
    dev.db,
    dev.demo,
    reports.report,
    orders.order,
    quotes.quote,
    returns.return_,
    subscriptions.subscription,
    ops.ops,
    stock.stock,
    orders.shipment,
    tokens.token,
    replenishment.replenish,
    stock.reorder,
    webhooks.webhook,
    webhooks.events,
    catalogue.product,
    catalogue.warehouse,
    catalogue.company,
    catalogue.supplier,
    catalogue.price,
    catalogue.shipping_quote,
):
    cli.add_command(_command)
output_on_every_command(cli)


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``oms`` with ``argv`` (default: the command line); exits with the command's code."""
    cli.main(args=None if argv is None else list(argv), prog_name="oms")
