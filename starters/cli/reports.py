"""``oms report``: the reports of the API, as JSON or CSV."""

from __future__ import annotations

from typing import Any

import click

from oms.settings import Settings
from starters.cli._common import api, pass_settings, show

REPORTS = (
    "orders",
    "funnel",
    "backorders",
    "skus",
    "low-stock",
    "returns",
    "cancellations",
    "forecast",
    "subscriptions",
)


@click.command(help="reports: " + ", ".join(REPORTS))
@click.argument("name", type=click.Choice(REPORTS))
@click.option("--csv", "as_csv", is_flag=True, help="CSV instead of JSON")
@click.option("--from", "from_", help="first day, YYYY-MM-DD (default: 90 days up to --to)")
@click.option("--to", help="last day, YYYY-MM-DD, included (default: today, UTC)")
@click.option("--sku", help="forecast: the SKU")
@click.option("--warehouse", help="forecast: demand from one warehouse")
@click.option("--below", type=int, help="low-stock: available units threshold")
@click.option("--lead-time-days", type=int, help="forecast: supplier lead time")
@click.option("--horizon", type=int, help="forecast: days ahead")
@pass_settings
def report(settings: Settings, name: str, as_csv: bool, **filters: Any) -> int:
    """Print a report from the API: JSON, or CSV with ``--csv``."""
    query: dict[str, Any] = {"format": "csv" if as_csv else "json"}
    for key in ("from_", "to", "sku", "warehouse", "below", "lead_time_days", "horizon"):
        if filters[key] is not None:
            query[key.rstrip("_")] = filters[key]
    if name == "forecast" and not filters["sku"]:
        raise SystemExit("oms report forecast needs --sku")
    with api(settings) as client:
        response = client.get(f"/reports/{name}", params=query)
    if as_csv and response.status_code < 400:
        print(response.text, end="")
        return 0
    return show(response)
