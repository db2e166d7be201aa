"""``oms webhook``: endpoints that receive the OMS's signed events, and their deliveries."""

from __future__ import annotations

import click

from oms.settings import Settings
from starters.cli._commands import get_command, list_command, post_command
from starters.cli._common import api, pass_settings, send, show, show_get

ENDPOINT = click.argument("endpoint_id")


@click.group(help="webhook endpoints: add, list, remove, deliveries, replay")
def webhook() -> None:
    pass


@webhook.command(help="register URL for events (patterns, e.g. 'order.*'); prints its secret")
@click.argument("url")
@click.option("--event", "events", multiple=True, default=["*"], show_default=True)
@click.option("--description", default="")
@pass_settings
def add(settings: Settings, url: str, events: tuple[str, ...], description: str) -> int:
    body = {"url": url, "events": list(events), "description": description}
    return send(settings, "/webhooks/endpoints", body)


webhook.add_command(list_command("/webhooks/endpoints"))


@webhook.command(help="stop delivering to an endpoint")
@ENDPOINT
@pass_settings
def remove(settings: Settings, endpoint_id: str) -> int:
    with api(settings) as client:
        response = client.delete(f"/webhooks/endpoints/{endpoint_id}")
        if response.status_code == 204:
            print(f"removed {endpoint_id}")
            return 0
        return show(response)


webhook.add_command(
    get_command(
        "deliveries",
        "/webhooks/endpoints/{endpoint_id}/deliveries",
        "every attempt, newest first (status code, error, next retry)",
        click.option("--event-id"),
        pages=True,
    )
)


webhook.add_command(
    post_command(
        "replay",
        "/webhooks/endpoints/{endpoint_id}/replay",
        "send again every event since SINCE (ISO 8601, e.g. 2026-12-01T00:00Z)",
        click.argument("since"),
    )
)


@click.command("events", help="the outbound events as a feed, oldest first (pull instead of push)")
@click.option("--after", default="", help="the next_cursor of the page before")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@pass_settings
def events(settings: Settings, after: str, limit: int) -> int:
    return show_get(settings, "/events", after=after, limit=limit)
