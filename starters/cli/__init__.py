"""``oms``: run the OMS's processes and do everyday operations from a terminal.

Operations go through the HTTP API (``OMS_API_URL``), so the CLI gets the same
validation and errors as any other client. Every request carries
``Authorization: Bearer $OMS_TOKEN`` (default ``dev-admin``, which works only where
dev tokens are on); who did something is the token's, never a flag's.
``oms token create/revoke/list`` manage stored tokens directly in the store.

One module per resource: ``orders`` (and shipments), ``quotes``, ``returns``, ``ops``,
``stock`` (and reorder policies), ``replenishment``, ``reports``, ``tokens``, ``webhooks``;
``dev`` runs
processes. Each command returns its exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from starters.cli import (
    dev,
    ops,
    orders,
    quotes,
    replenishment,
    reports,
    returns,
    stock,
    tokens,
    webhooks,
)

HELP = """Run the OMS's processes and do everyday operations from a terminal.

Operations go through the HTTP API (OMS_API_URL) with 'Authorization: Bearer $OMS_TOKEN'
(default dev-admin, which works only where dev tokens are on). 'oms token' manages stored
tokens directly in the store."""


@click.group(help=HELP)
def cli() -> None:
    pass


@cli.result_callback()
def _exit(code: int | None) -> None:
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
    ops.ops,
    stock.stock,
    orders.shipment,
    tokens.token,
    replenishment.replenish,
    stock.reorder,
    webhooks.webhook,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``oms`` with ``argv`` (default: the command line); exits with the command's code."""
    cli.main(args=None if argv is None else list(argv), prog_name="oms")
