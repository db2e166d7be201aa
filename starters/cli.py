"""``oms``: run the OMS's processes and do everyday operations from a terminal.

Operations go through the HTTP API (``OMS_API_URL``), so the CLI gets the same
validation and errors as any other client.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from oms.settings import Settings


def _api(settings: Settings) -> httpx.Client:
    return httpx.Client(base_url=settings.api_url, timeout=60)


def _show(response: httpx.Response) -> int:
    try:
        body: Any = response.json()
        print(json.dumps(body, indent=2, ensure_ascii=False))
    except ValueError:
        print(response.text)
    if response.status_code >= 400:
        print(f"HTTP {response.status_code}", file=sys.stderr)
        return 1
    return 0


def _cmd_order(args: argparse.Namespace, settings: Settings) -> int:
    with _api(settings) as api:
        if args.action == "place":
            text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
            return _show(
                api.post("/orders", content=text, headers={"content-type": "application/json"})
            )
        if args.action == "get":
            return _show(api.get(f"/orders/{args.order_id}"))
        if args.action == "list":
            params = {"status": args.status} if args.status else {}
            return _show(api.get("/orders", params=params))
        if args.action == "cancel":
            return _show(api.post(f"/orders/{args.order_id}/cancel", json={"reason": args.reason}))
    return 2


def _cmd_stock(args: argparse.Namespace, settings: Settings) -> int:
    with _api(settings) as api:
        if args.action == "set":
            return _show(
                api.put(
                    f"/warehouses/{args.warehouse_id}/stock/{args.sku}",
                    json={"on_hand": args.on_hand},
                )
            )
        params = {"sku": args.sku} if args.sku else {}
        return _show(api.get("/stock", params=params))


def _cmd_shipment(args: argparse.Namespace, settings: Settings) -> int:
    with _api(settings) as api:
        if args.action == "list":
            params = {
                k: v for k, v in (("warehouse_id", args.warehouse), ("status", args.status)) if v
            }
            return _show(api.get("/shipments", params=params))
        if args.action == "pick":
            return _show(api.post(f"/shipments/{args.shipment_id}/pick", json={}))
        packages = [{"weight_grams": w} for w in args.weight]
        return _show(api.post(f"/shipments/{args.shipment_id}/pack", json={"packages": packages}))


def _cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from starters.dev import prepare_store

    prepare_store(settings)
    print(f"store migrated and seeded: {settings.database_url}")
    return 0


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from starters.demo import run_demo

    return run_demo(settings)


def _run_module(target: str) -> Callable[[argparse.Namespace, Settings], int]:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        module_name, func = target.split(":")
        module = __import__(module_name, fromlist=[func])
        extra = getattr(args, "rest", None)
        if extra is not None:
            getattr(module, func)(extra)
        else:
            getattr(module, func)()
        return 0

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oms", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("dev", help="run everything in the foreground (make run)").set_defaults(
        func=_run_module("starters.dev:main")
    )
    worker = sub.add_parser("worker", help="run workers (all queues, or --queues a,b)")
    worker.add_argument("rest", nargs=argparse.REMAINDER)
    worker.set_defaults(func=_run_module("workers.main:main"))
    sub.add_parser("api", help="run the HTTP API").set_defaults(
        func=_run_module("starters.api.app:main")
    )
    sub.add_parser("carrier", help="run the sandbox carrier service").set_defaults(
        func=_run_module("activities.adapters.carrier_sandbox:main")
    )
    sub.add_parser("smtp-sink", help="run the local SMTP sink").set_defaults(
        func=_run_module("activities.adapters.smtp_sink:main")
    )
    sub.add_parser("simulator", help="run the simulated warehouse").set_defaults(
        func=_run_module("workers.simulator:main")
    )
    sub.add_parser("db", help="migrate the store and load the demo catalogue").set_defaults(
        func=_cmd_db
    )
    sub.add_parser("demo", help="place a handful of realistic orders").set_defaults(func=_cmd_demo)

    order = sub.add_parser("order", help="place, get, list or cancel orders")
    osub = order.add_subparsers(dest="action", required=True)
    place = osub.add_parser("place", help="place an order from a JSON file (- for stdin)")
    place.add_argument("file")
    osub.add_parser("get").add_argument("order_id")
    listing = osub.add_parser("list")
    listing.add_argument("--status")
    cancel = osub.add_parser("cancel")
    cancel.add_argument("order_id")
    cancel.add_argument("--reason", required=True)
    order.set_defaults(func=_cmd_order)

    stock = sub.add_parser("stock", help="show or set stock")
    ssub = stock.add_subparsers(dest="action", required=True)
    setter = ssub.add_parser("set", help="set on-hand units (fills backorders)")
    setter.add_argument("warehouse_id")
    setter.add_argument("sku")
    setter.add_argument("on_hand", type=int)
    show = ssub.add_parser("list")
    show.add_argument("--sku")
    stock.set_defaults(func=_cmd_stock)

    shipment = sub.add_parser("shipment", help="warehouse steps: list, pick, pack")
    shsub = shipment.add_subparsers(dest="action", required=True)
    sl = shsub.add_parser("list")
    sl.add_argument("--warehouse")
    sl.add_argument("--status")
    shsub.add_parser("pick").add_argument("shipment_id")
    pack = shsub.add_parser("pack")
    pack.add_argument("shipment_id")
    pack.add_argument(
        "--weight",
        type=int,
        action="append",
        default=[],
        required=True,
        help="weight in grams of one package (repeat for more)",
    )
    shipment.set_defaults(func=_cmd_shipment)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args, Settings()))


if __name__ == "__main__":
    main()
