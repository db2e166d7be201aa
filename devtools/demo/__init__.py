"""``oms demo`` (``make demo``): place a handful of realistic orders against the running stack.

The orders cover the main paths a newcomer wants to watch in the Temporal UI:
one warehouse, a split across warehouses, express shipping, a Swedish-speaking
customer, a backorder on the scarcest SKU, a declined payment held for the
customer, a B2B quote, a weekly subscription (its first order placed at once),
and a return: an order of two lines that, once the simulated warehouse and
carrier (``OMS_SIMULATE``, on under ``make run``) have delivered it, returns
one line for a refund; the demo prints the commands that receive the parcel
and follow it to the refund. The backorder takes the scarce SKU's last
Stockholm unit, below its reorder point: the demo prints the commands that
confirm the purchase order raised for it and receive the goods, which fills
the backorder.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import httpx

from oms.settings import Settings

ADDRESSES = [
    ("Anna Lindqvist", "Drottninggatan 53", "111 21", "Stockholm", "sv"),
    ("Erik Johansson", "Kungsportsavenyen 21", "411 36", "Göteborg", "sv"),
    ("Sara Nilsson", "Stortorget 9", "211 22", "Malmö", "en"),
    ("Oskar Berg", "Svartbäcksgatan 12", "753 20", "Uppsala", "sv"),
    ("Maja Holm", "Storgatan 40", "903 26", "Umeå", "en"),
    ("Liam Andersson", "Vasagatan 7", "411 24", "Göteborg", "en"),
]


def _order(
    n: int, lines: list[dict[str, Any]], speed: str = "standard", token: str = "tok_visa"
) -> dict[str, Any]:
    name, line1, postal, city, locale = ADDRESSES[n % len(ADDRESSES)]
    return {
        "order_id": f"DEMO-{uuid.uuid4().hex[:6].upper()}-{n}",
        "channel": ["web", "marketplace", "api", "sales_rep"][n % 4],
        "customer": {
            "id": f"C-{1000 + n}",
            "name": name,
            "email": f"{name.split()[0].lower()}@example.com",
            "locale": locale,
        },
        "currency": "SEK",
        "lines": lines,
        "ship_to": {
            "name": name,
            "line1": line1,
            "postal_code": postal,
            "city": city,
            "country": "SE",
        },
        "shipping_speed": speed,
        "payment": {"method": "card", "token": token},
    }


def build_orders(
    products: list[dict[str, Any]], stock: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Demo orders for whatever catalogue and stock the store has."""
    available: dict[str, int] = defaultdict(int)
    for level in stock:
        available[level["sku"]] += level["available"]
    active = [p for p in products if p.get("active", True)]
    by_stock = sorted(active, key=lambda p: available[p["sku"]], reverse=True)
    scarce = min(active, key=lambda p: available[p["sku"]])

    def line(product: dict[str, Any], qty: int) -> dict[str, Any]:
        return {"sku": product["sku"], "quantity": qty, "unit_price": product["unit_price"]}

    plenty = by_stock[: max(3, len(by_stock) // 2)]
    return [
        _order(0, [line(plenty[0], 1)]),
        _order(1, [line(p, 2) for p in plenty[:3]]),
        _order(2, [line(plenty[1], 1), line(plenty[2], 1)], speed="express"),
        _order(3, [line(plenty[0], max(1, available[plenty[0]["sku"]] // 2))]),
        _order(4, [line(scarce, available[scarce["sku"]] + 2)]),
        _order(5, [line(plenty[2], 1)], token="tok_declined"),
    ]


B2B_SKU = "PALLET-RACK-2M"


def place_quote(api: httpx.Client) -> str:
    """A B2B request for quote, proposed at 15% off 150 000 SEK: it waits for two approvers."""
    api.put(
        f"/products/{B2B_SKU}",
        json={"name": "Pallet rack bay, 2 m", "unit_price": "1000.00", "weight_grams": 9000},
    ).raise_for_status()
    api.put(f"/warehouses/WH-STO/stock/{B2B_SKU}", json={"on_hand": 200}).raise_for_status()
    quote_id = f"DEMO-Q-{uuid.uuid4().hex[:6].upper()}"
    body = {
        "quote_id": quote_id,
        "customer": {
            "id": "C-ACME-1",
            "name": "Karin Ek",
            "email": "karin@acme.example",
            "company_id": "ACME-AB",
        },
        "currency": "SEK",
        "lines": [{"sku": B2B_SKU, "quantity": 150}],
        "ship_to": {
            "name": "Acme Bygg AB",
            "line1": "Industrivägen 4",
            "postal_code": "171 48",
            "city": "Solna",
            "country": "SE",
        },
        "note": "Warehouse fit-out, phase 1",
    }
    api.post("/quotes", json=body).raise_for_status()
    api.post(
        f"/quotes/{quote_id}/proposals",
        json={
            "overrides": [{"sku": B2B_SKU, "unit_price": "850.00", "reason": "volume deal"}],
            "comment": "15% for the whole fit-out",
        },
    ).raise_for_status()
    return quote_id


def place_return(api: httpx.Client, plenty: list[dict[str, Any]], wait_s: float) -> str:
    """An order of two lines; once delivered, one line is returned for a refund.

    Returns what to tell the newcomer: the commands for the next steps.
    """
    lines = [{"sku": p["sku"], "quantity": 1, "unit_price": p["unit_price"]} for p in plenty[:2]]
    body = _order(6, lines)
    order_id = body["order_id"]
    api.post("/orders", json=body).raise_for_status()
    sku = lines[0]["sku"]
    request = f".venv/bin/oms return request {order_id} --line {sku}:1:wrong_size"
    print(f"  {order_id:<20} 2 line(s): one of them is returned once it is delivered")
    deadline = time.monotonic() + wait_s
    status = ""
    while time.monotonic() < deadline:
        status = api.get(f"/orders/{order_id}").json().get("status", "")
        if status == "completed":
            break
        time.sleep(2)
    if status != "completed":
        return (
            f"\nThe return demo order {order_id} is {status or 'not delivered'} yet "
            "(is OMS_SIMULATE on?). Once it is completed, return one line:\n"
            f"  {request}\n"
        )
    response = api.post(
        f"/orders/{order_id}/returns",
        json={"lines": [{"sku": sku, "quantity": 1, "reason": "wrong_size"}]},
    )
    response.raise_for_status()
    rma_id = response.json()["rma_id"]
    print(f"  {rma_id:<20} return of 1 x {sku}: authorized automatically (wrong size)")
    warehouse = return_warehouse(api, rma_id)
    return (
        f"\nThe return {rma_id} waits for its parcel. Receive it at the warehouse, then watch\n"
        f"the unit go back on the shelf and the refund of that one line:\n"
        f"  .venv/bin/oms return receive {rma_id} --warehouse {warehouse} "
        f"--line {sku}:1:resellable\n"
        f"  .venv/bin/oms return get {rma_id}\n"
        f"  .venv/bin/oms order get {order_id}   # its returns are listed on the order\n"
    )


def return_warehouse(api: httpx.Client, rma_id: str, wait_s: float = 15.0) -> str:
    """The warehouse the return's label sends the parcel to (the one that shipped the
    order), from the return's view once its workflow has bought the label."""
    deadline = time.monotonic() + wait_s
    while True:
        label = api.get(f"/returns/{rma_id}").raise_for_status().json().get("label")
        if label:
            return str(label["return_to_warehouse_id"])
        if time.monotonic() >= deadline:
            return f"<the warehouse on its label: oms return get {rma_id}>"
        time.sleep(0.5)


def all_items(api: httpx.Client, path: str, **query: Any) -> list[dict[str, Any]]:
    """Every item of a list the API pages, following ``next_cursor``."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {**query, "limit": 500}
    while True:
        page = api.get(path, params=params).raise_for_status().json()
        items += page["items"]
        if not page["next_cursor"]:
            return items
        params["cursor"] = page["next_cursor"]


def place_subscription(api: httpx.Client, plenty: list[dict[str, Any]]) -> str:
    """A weekly subscription of the best-stocked SKU: its first order is placed at once and,
    with the simulation on, completes like any other order."""
    subscription_id = f"DEMO-S-{uuid.uuid4().hex[:6].upper()}"
    name, line1, postal, city, locale = ADDRESSES[0]
    body = {
        "subscription_id": subscription_id,
        "customer": {"id": "C-42", "name": name, "email": "anna@example.com", "locale": locale},
        "currency": "SEK",
        "lines": [{"sku": plenty[0]["sku"], "quantity": 1}],
        "ship_to": {
            "name": name,
            "line1": line1,
            "postal_code": postal,
            "city": city,
            "country": "SE",
        },
        "interval": "P1W",
        "payment": {"method": "card", "token": "tok_visa"},
    }
    api.post("/subscriptions", json=body).raise_for_status()
    return subscription_id


def replenishment_steps(api: httpx.Client, wait_s: float = 15.0) -> str:
    """The commands that confirm and receive the purchase orders the demo's orders raised."""
    deadline = time.monotonic() + wait_s
    episodes: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        episodes = [
            e
            for e in all_items(api, "/replenishment", status="open")
            if e.get("po_status") == "sent"
        ]
        if episodes:
            break
        time.sleep(0.5)
    if not episodes:
        return "\nNo SKU went below its reorder point this time (see `oms replenish list`)."
    steps = ["\nLow stock: the team and the supplier were emailed (see var/mail/). Be the supplier"]
    steps.append("and the warehouse: confirm the purchase order, then receive it in two deliveries")
    steps.append("(each fills backorders, oldest first):")
    for e in episodes:
        po, ordered = e["po_id"], e["ordered"]
        first = max(1, ordered // 2)
        steps += [
            f"  .venv/bin/oms replenish confirm {po} --supplier-ref SUP-{e['n']}",
            f"  .venv/bin/oms replenish receive {po} {first}",
            f"  .venv/bin/oms replenish receive {po} {ordered - first}" if ordered > first else "",
            f"  .venv/bin/oms replenish get {po}",
        ]
    return "\n".join(s for s in steps if s)


def run_demo(settings: Settings, return_wait_s: float = 120.0) -> int:
    with httpx.Client(
        base_url=settings.api_url,
        timeout=30,
        headers={"Authorization": f"Bearer {settings.api_token()}"},
    ) as api:
        products = all_items(api, "/products")
        stock = all_items(api, "/stock")
        if not products:
            print("The catalogue is empty: run `oms db` (make run does it) first.")
            return 1
        print("Placing demo orders:")
        for body in build_orders(products, stock):
            response = api.post("/orders", json=body)
            units = sum(li["quantity"] for li in body["lines"])
            print(
                f"  {body['order_id']:<20} {response.status_code} "
                f"{len(body['lines'])} line(s), {units} unit(s) to {body['ship_to']['city']}"
                f" ({body['shipping_speed']}, {body['payment']['token']})"
            )
            if response.status_code >= 300:
                print("   ", response.text)
                return 1
        quote_id = place_quote(api)
        print(f"  {quote_id:<20} B2B quote, 150 racks at 15% off 150 000 SEK: waits for approval")
        active = [p for p in products if p.get("active", True)]
        available: dict[str, int] = defaultdict(int)
        for level in stock:
            available[level["sku"]] += level["available"]
        plenty = sorted(active, key=lambda p: available[p["sku"]], reverse=True)
        subscription_id = place_subscription(api, plenty)
        print(
            f"  {subscription_id:<20} weekly subscription of 1 x {plenty[0]['sku']}: its first "
            f"order SUB-{subscription_id}-1 is placed now"
        )
        print("Waiting for the return demo order to be delivered (simulated)...")
        return_steps = place_return(api, plenty, return_wait_s)
        replenish_steps = replenishment_steps(api)
    print(
        f"\nApprove the quote as the two roles its rules require, then accept it:\n"
        f"(who acts is the token's: OMS_TOKEN, see docs/security.md)\n"
        f"  OMS_TOKEN=dev-sales_manager .venv/bin/oms quote approve {quote_id}\n"
        f"  OMS_TOKEN=dev-finance .venv/bin/oms quote approve {quote_id}\n"
        f"  OMS_TOKEN=dev-buyer-C-ACME-1 .venv/bin/oms quote accept {quote_id} --po PO-4711\n"
        f"\nWatch them at {settings.temporal_ui_url}/namespaces/default/workflows "
        f"or with `oms order list`.\nThe declined one waits on_hold; the backordered one "
        f"allocates when you add stock: `oms stock set WH-STO <sku> <units>`."
    )
    print(
        f"\nFollow, skip, pause or cancel the subscription (the buyer dev-buyer is C-42):\n"
        f"  .venv/bin/oms subscription get {subscription_id}\n"
        f"  OMS_TOKEN=dev-buyer .venv/bin/oms subscription skip {subscription_id}"
    )
    print(return_steps)
    print(replenish_steps)
    return 0


def seed_history_into_store(settings: Settings, days: int = 90) -> int:
    """``oms demo --history``: write generated order history into the store (idempotent).

    Goes to the database directly (``OMS_DATABASE_URL``), not the API: these orders
    are the past, so no workflow runs for them. Migrates and seeds the catalogue first
    (both idempotent), so it also works before the first ``make run``.
    """
    from devtools.demo.history import seed_history
    from devtools.dev import prepare_store
    from oms.store.db import Database

    prepare_store(settings)
    now = datetime.now(UTC)
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            seeded = seed_history(session, end=now.date(), now=now, days=days)
    finally:
        db.dispose()
    if seeded.skipped:
        print("Order history is already in the store (H- orders); nothing added.")
    else:
        print(
            f"Order history written: {seeded.orders} orders over {days} days, "
            f"{seeded.shipments} shipments, {seeded.returns} returns (ids start with H-)."
        )
    print(
        f"See it at {settings.api_url}/reports (the browser asks you to log in: any user "
        f"name, an API token as the password, e.g. the one in {settings.token_file})"
    )
    return 0
