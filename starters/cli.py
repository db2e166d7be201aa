"""``oms``: run the OMS's processes and do everyday operations from a terminal.

Operations go through the HTTP API (``OMS_API_URL``), so the CLI gets the same
validation and errors as any other client. Every request carries
``Authorization: Bearer $OMS_TOKEN`` (default ``dev-admin``, which works only where
dev tokens are on); who did something is the token's, never a flag's.
``oms token create/revoke/list`` manage stored tokens directly in the store.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from oms.domain.auth import ROLES
from oms.settings import Settings


def _api(settings: Settings) -> httpx.Client:
    return httpx.Client(
        base_url=settings.api_url,
        timeout=60,
        headers={"Authorization": f"Bearer {settings.token}"},
    )


def _role(body: dict[str, Any], role: str | None) -> dict[str, Any]:
    """Add ``role`` when given: only an admin token may name the role it acts in."""
    return body | {"role": role} if role else body


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
        if args.action == "approve-credit":
            body = _role({"comment": args.comment}, args.role)
            return _show(api.post(f"/orders/{args.order_id}/credit-approval", json=body))
    return 2


def _pairs(values: list[str], what: str) -> list[tuple[str, str, str]]:
    """Parse ``SKU=PRICE`` or ``SKU=PRICE:reason`` arguments."""
    parsed = []
    for value in values:
        sku, _, rest = value.partition("=")
        price, _, reason = rest.partition(":")
        if not sku or not price:
            raise SystemExit(f"{what} must look like SKU=PRICE[:reason], got {value!r}")
        parsed.append((sku, price, reason))
    return parsed


def _cmd_quote(args: argparse.Namespace, settings: Settings) -> int:
    with _api(settings) as api:
        qid = getattr(args, "quote_id", None)
        if args.action == "request":
            text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
            return _show(
                api.post("/quotes", content=text, headers={"content-type": "application/json"})
            )
        if args.action == "get":
            return _show(api.get(f"/quotes/{qid}"))
        if args.action == "list":
            return _show(api.get("/quotes", params={"status": args.status} if args.status else {}))
        if args.action == "propose":
            overrides = [
                {"sku": sku, "unit_price": price, "reason": reason or "seller override"}
                for sku, price, reason in _pairs(args.override, "--override")
            ]
            body = {"overrides": overrides, "comment": args.comment}
            return _show(api.post(f"/quotes/{qid}/proposals", json=body))
        if args.action == "counter":
            lines = [
                {"sku": s, "target_unit_price": p} for s, p, _ in _pairs(args.target, "--target")
            ]
            body = {"lines": lines, "comment": args.comment}
            return _show(api.post(f"/quotes/{qid}/counter-offers", json=body))
        if args.action in ("approve", "reject"):
            body = _role({"decision": args.action, "comment": args.comment}, args.role)
            return _show(api.post(f"/quotes/{qid}/approvals", json=body))
        if args.action == "accept":
            body = {"po_number": args.po, "payment_terms": args.terms}
            return _show(api.post(f"/quotes/{qid}/accept", json=body))
        if args.action in ("withdraw", "reopen"):
            return _show(api.post(f"/quotes/{qid}/{args.action}", json={"reason": args.reason}))
    return 2


def _triples(values: list[str], what: str, third: str) -> list[dict[str, Any]]:
    """Parse ``SKU:QTY:REASON`` (or ``SKU:QTY:CONDITION``) arguments."""
    parsed = []
    for value in values:
        parts = value.split(":")
        if len(parts) != 3 or not parts[1].isdigit():
            raise SystemExit(f"{what} must look like SKU:QTY:{third.upper()}, got {value!r}")
        parsed.append({"sku": parts[0], "quantity": int(parts[1]), third: parts[2]})
    return parsed


def _cmd_return(args: argparse.Namespace, settings: Settings) -> int:
    with _api(settings) as api:
        rma = getattr(args, "rma_id", None)
        if args.action == "request":
            lines = _triples(args.line, "--line", "reason")
            body = {"lines": lines, "resolution": args.resolution}
            return _show(api.post(f"/orders/{args.order_id}/returns", json=body))
        if args.action == "get":
            return _show(api.get(f"/returns/{rma}"))
        if args.action == "list":
            params = _params(order_id=args.order, status=args.status, reason=args.reason)
            return _show(api.get("/returns", params=params))
        if args.action == "authorize":
            body = {"comment": args.comment}
            return _show(api.post(f"/returns/{rma}/authorize", json=body))
        if args.action == "reject":
            return _show(api.post(f"/returns/{rma}/reject", json={"reason": args.reason}))
        if args.action == "receive":
            body = {
                "warehouse_id": args.warehouse,
                "lines": _triples(args.line, "--line", "condition"),
            }
            return _show(api.post(f"/returns/{rma}/receive", json=body))
        if args.action == "retry-refund":
            body = {"reason": args.reason}
            return _show(api.post(f"/returns/{rma}/retry-refund", json=body))
    return 2


def _params(**values: str | int | float | None) -> dict[str, str | int | float]:
    """Query parameters: the options the user gave (``None`` and empty ones left out)."""
    return {k: v for k, v in values.items() if v is not None and v != ""}


def _cmd_ops(args: argparse.Namespace, settings: Settings) -> int:
    with _api(settings) as api:
        if args.action == "stuck":
            params = _params(
                kind=args.kind, stage=args.stage, warehouse=args.warehouse, min_age_s=args.min_age_s
            )
            response = api.get("/ops/stuck", params=params)
            if response.status_code >= 400 or args.json:
                return _show(response)
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
        body = {"reason": args.reason}
        if args.action == "retry-now":
            return _show(api.post(f"/ops/workflows/{args.workflow_id}/retry-now", json=body))
        if args.action == "cancel":
            return _show(api.post(f"/ops/orders/{args.order_id}/cancel", json=body))
        if args.action == "release-hold":
            body = _role(body | {"payment_token": args.token}, args.role)
            return _show(api.post(f"/ops/orders/{args.order_id}/release-hold", json=body))
        if args.action == "reroute":
            body |= {"shipment_id": args.shipment_id, "warehouse_id": args.to}
            return _show(api.post(f"/ops/shipments/{args.shipment_id}/reroute", json=body))
        if args.action == "resend":
            body |= {"notification": args.notification}
            return _show(api.post(f"/ops/orders/{args.order_id}/resend", json=body))
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


def _cmd_replenish(args: argparse.Namespace, settings: Settings) -> int:
    with _api(settings) as api:
        if args.action == "list":
            params = _params(status=args.status, warehouse_id=args.warehouse, sku=args.sku)
            return _show(api.get("/replenishment", params=params))
        ref = f"/replenishment/{args.reference}"
        if args.action == "get":
            return _show(api.get(ref))
        if args.action == "confirm":
            body = {"supplier_reference": args.supplier_ref}
            return _show(api.post(f"{ref}/confirm", json=body))
        if args.action == "receive":
            body = {"quantity": args.quantity}
            return _show(api.post(f"{ref}/receipts", json=body))
        if args.action == "retry":
            return _show(api.post(f"{ref}/retry", json={}))
    return 2


def _cmd_reorder(args: argparse.Namespace, settings: Settings) -> int:
    with _api(settings) as api:
        path = f"/warehouses/{args.warehouse_id}/reorder-policies/{args.sku}"
        if args.action == "get":
            return _show(api.get(path))
        body: dict[str, Any] = {"reorder_point": args.point, "reorder_qty": args.qty}
        if args.supplier:
            body["supplier_id"] = args.supplier
        return _show(api.put(path, json=body))


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


def _cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    """Manage stored API tokens in the store itself (no API call: this is how the first
    admin token of a production install is made)."""
    from oms.store import tokens
    from oms.store.db import Database
    from oms.store.errors import UnknownToken

    db = Database(settings.database_url)
    try:
        with db.session() as session:
            if args.action == "create":
                try:
                    token, info = tokens.create_token(
                        session, args.role, args.name, args.customer, args.company
                    )
                except ValueError as err:
                    print(str(err), file=sys.stderr)
                    return 2
                print(f"token id {info.token_id} ({info.role}, {info.subject})", file=sys.stderr)
                print("store it now: it is not shown again", file=sys.stderr)
                print(token)
                return 0
            if args.action == "revoke":
                try:
                    info = tokens.revoke(session, args.token_id)
                except UnknownToken as err:
                    print(str(err), file=sys.stderr)
                    return 1
                print(f"revoked {info.token_id} ({info.role}, {info.subject})")
                return 0
            for info in tokens.list_tokens(session):
                scope = info.customer_id or info.company_id or ""
                state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "live"
                print(
                    f"{info.token_id}  {info.role:<14} {info.subject:<24} {scope:<12} "
                    f"created {info.created_at:%Y-%m-%d %H:%M}  {state}"
                )
            return 0
    finally:
        db.dispose()


def _cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from starters.dev import prepare_store

    prepare_store(settings)
    print(f"store migrated and seeded: {settings.database_url}")
    return 0


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    if args.history:
        from starters.demo import seed_history_into_store

        return seed_history_into_store(settings, days=args.days)
    from starters.demo import run_demo

    return run_demo(settings)


REPORTS = (
    "orders",
    "funnel",
    "backorders",
    "skus",
    "low-stock",
    "returns",
    "cancellations",
    "forecast",
)


def _cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Print a report from the API: JSON, or CSV with ``--csv``."""
    params: dict[str, Any] = {"format": "csv" if args.csv else "json"}
    for name in ("from_", "to", "sku", "warehouse", "below", "lead_time_days", "horizon"):
        value = getattr(args, name, None)
        if value is not None:
            params[name.rstrip("_")] = value
    if args.name == "forecast" and not args.sku:
        raise SystemExit("oms report forecast needs --sku")
    with _api(settings) as api:
        response = api.get(f"/reports/{args.name}", params=params)
    if args.csv and response.status_code < 400:
        print(response.text, end="")
        return 0
    return _show(response)


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


def _cmd_codec_key(args: argparse.Namespace, settings: Settings) -> int:
    from oms.codec import new_key

    print(new_key())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oms", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("dev", help="run everything in the foreground (make run)").set_defaults(
        func=_run_module("starters.dev:main")
    )
    # prefix_chars="+": "--queues a,b" after "worker" is passed through to workers.main.
    worker = sub.add_parser(
        "worker", help="run workers (all queues, or --queues a,b)", prefix_chars="+", add_help=False
    )
    worker.add_argument("rest", nargs=argparse.REMAINDER)
    worker.set_defaults(func=_run_module("workers.main:main"))
    # prefix_chars="+": every "--option" after "bench" is passed through to starters.bench.
    bench = sub.add_parser("bench", help="benchmark (make bench)", prefix_chars="+", add_help=False)
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(func=_run_module("starters.bench:main"))
    # prefix_chars="+": every "--option" after "chaos" is passed through to starters.chaos.run.
    chaos = sub.add_parser(
        "chaos", help="fault scenarios (make chaos)", prefix_chars="+", add_help=False
    )
    chaos.add_argument("rest", nargs=argparse.REMAINDER)
    chaos.set_defaults(func=_run_module("starters.chaos.run:main"))
    sub.add_parser("api", help="run the HTTP API").set_defaults(
        func=_run_module("starters.api.app:main")
    )
    sub.add_parser(
        "codec-server", help="run the codec server the Temporal UI decodes payloads with"
    ).set_defaults(func=_run_module("starters.codec_server:main"))
    sub.add_parser(
        "codec-key", help="print a new random payload encryption key (for OMS_CODEC_KEYS)"
    ).set_defaults(func=_cmd_codec_key)
    sub.add_parser("carrier", help="run the sandbox carrier service").set_defaults(
        func=_run_module("sandboxes.carrier:main")
    )
    sub.add_parser("smtp-sink", help="run the local SMTP sink").set_defaults(
        func=_run_module("sandboxes.smtp_sink:main")
    )
    sub.add_parser("simulator", help="run the simulated warehouse").set_defaults(
        func=_run_module("sandboxes.warehouse:main")
    )
    sub.add_parser("db", help="migrate the store and load the demo catalogue").set_defaults(
        func=_cmd_db
    )
    demo = sub.add_parser("demo", help="place a handful of realistic orders")
    demo.add_argument(
        "--history",
        action="store_true",
        help="instead, write generated order history into the store (for reports; idempotent)",
    )
    demo.add_argument("--days", type=int, default=90, help="days of history (with --history)")
    demo.set_defaults(func=_cmd_demo)

    report = sub.add_parser("report", help="reports: " + ", ".join(REPORTS))
    report.add_argument("name", choices=REPORTS)
    report.add_argument("--csv", action="store_true", help="CSV instead of JSON")
    report.add_argument("--from", dest="from_", help="first day, YYYY-MM-DD")
    report.add_argument("--to", help="last day, YYYY-MM-DD")
    report.add_argument("--sku", help="forecast: the SKU")
    report.add_argument("--warehouse", help="forecast: demand from one warehouse")
    report.add_argument("--below", type=int, help="low-stock: available units threshold")
    report.add_argument("--lead-time-days", type=int, help="forecast: supplier lead time")
    report.add_argument("--horizon", type=int, help="forecast: days ahead")
    report.set_defaults(func=_cmd_report)

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
    credit = osub.add_parser(
        "approve-credit", help="finance: let an order go over its credit limit"
    )
    credit.add_argument("order_id")
    credit.add_argument("--role", help="admin tokens only: the role to approve as")
    credit.add_argument("--comment")
    order.set_defaults(func=_cmd_order)

    quote = sub.add_parser("quote", help="B2B quotes: request, propose, counter, approve, accept")
    qsub = quote.add_subparsers(dest="action", required=True)
    qreq = qsub.add_parser("request", help="request a quote from a JSON file (- for stdin)")
    qreq.add_argument("file")
    qsub.add_parser("get").add_argument("quote_id")
    qlist = qsub.add_parser("list")
    qlist.add_argument("--status")
    qprop = qsub.add_parser("propose", help="seller: propose prices")
    qprop.add_argument("quote_id")
    qprop.add_argument("--override", action="append", default=[], help="SKU=PRICE:reason")
    qprop.add_argument("--comment")
    qcounter = qsub.add_parser("counter", help="buyer: counter with target prices")
    qcounter.add_argument("quote_id")
    qcounter.add_argument("--target", action="append", default=[], help="SKU=PRICE")
    qcounter.add_argument("--comment")
    for decision in ("approve", "reject"):
        qd = qsub.add_parser(decision, help=f"approver: {decision} the current proposal")
        qd.add_argument("quote_id")
        qd.add_argument("--role", help="admin tokens only: the role to decide as")
        qd.add_argument("--comment")
    qacc = qsub.add_parser("accept", help="buyer: accept and order")
    qacc.add_argument("quote_id")
    qacc.add_argument("--po", required=True, help="purchase order number")
    qacc.add_argument("--terms", default="net30", choices=["net30", "net60"])
    for action in ("withdraw", "reopen"):
        qa = qsub.add_parser(action)
        qa.add_argument("quote_id")
        qa.add_argument("--reason", default="")
    quote.set_defaults(func=_cmd_quote)

    ret = sub.add_parser("return", help="returns: request, authorize, receive, refund")
    rsub = ret.add_subparsers(dest="action", required=True)
    rreq = rsub.add_parser("request", help="customer: return delivered lines of an order")
    rreq.add_argument("order_id")
    rreq.add_argument(
        "--line", action="append", required=True, help="SKU:QTY:REASON, e.g. CAP-NVY:1:wrong_size"
    )
    rreq.add_argument("--resolution", default="refund", choices=["refund", "exchange"])
    rsub.add_parser("get").add_argument("rma_id")
    rlist = rsub.add_parser("list")
    rlist.add_argument("--order")
    rlist.add_argument("--status")
    rlist.add_argument("--reason", help="returns with a line given this reason")
    rauth = rsub.add_parser("authorize", help="support: authorize a return held for a person")
    rauth.add_argument("rma_id")
    rauth.add_argument("--comment")
    rrej = rsub.add_parser("reject", help="support: reject a return")
    rrej.add_argument("rma_id")
    rrej.add_argument("--reason", required=True)
    rrec = rsub.add_parser("receive", help="warehouse: the parcel arrived")
    rrec.add_argument("rma_id")
    rrec.add_argument("--warehouse", required=True)
    rrec.add_argument(
        "--line",
        action="append",
        required=True,
        help="SKU:QTY:CONDITION with condition resellable, damaged or wrong_item",
    )
    rretry = rsub.add_parser("retry-refund", help="operations: retry a declined refund")
    rretry.add_argument("rma_id")
    rretry.add_argument("--reason", default="")
    ret.set_defaults(func=_cmd_return)

    ops = sub.add_parser("ops", help="operations: stuck workflows and interventions")
    opsub = ops.add_subparsers(dest="action", required=True)
    st = opsub.add_parser("stuck", help="every stuck order, shipment and quote, and why")
    st.add_argument("--kind", choices=["order", "shipment", "quote", "return", "replenishment"])
    st.add_argument("--stage")
    st.add_argument("--warehouse")
    st.add_argument("--min-age-s", dest="min_age_s", type=int)
    st.add_argument("--json", action="store_true", help="print the raw JSON")
    for name, target, extra in (
        ("retry-now", "workflow_id", "retry a failing call at once"),
        ("cancel", "order_id", "force-cancel with full compensation"),
        ("release-hold", "order_id", "release an order held for payment or credit"),
        ("resend", "order_id", "send a customer email again"),
        ("reroute", "shipment_id", "move a shipment that has not shipped to another warehouse"),
    ):
        op_parser = opsub.add_parser(name, help=extra)
        op_parser.add_argument(target)
        op_parser.add_argument("--reason", required=True, help="why (recorded in history)")
        if name == "release-hold":
            op_parser.add_argument("--role", help="admin tokens only: the role to act as")
            op_parser.add_argument("--token", help="a new card token to authorize")
        if name == "reroute":
            op_parser.add_argument("--to", help="warehouse id (default: the nearest other)")
        if name == "resend":
            op_parser.add_argument("--notification", default="order_confirmed")
    ops.set_defaults(func=_cmd_ops)

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

    tok = sub.add_parser("token", help="API tokens: create (shown once), list, revoke")
    tsub = tok.add_subparsers(dest="action", required=True)
    tcreate = tsub.add_parser("create", help="create a token and print it once")
    tcreate.add_argument("--role", required=True, choices=list(ROLES))
    tcreate.add_argument("--name", required=True, help="who holds it (recorded on what they do)")
    tcreate.add_argument("--customer", help="buyer tokens: the customer id they act for")
    tcreate.add_argument("--company", help="buyer tokens: the company they act for")
    tsub.add_parser("list", help="every token, without secrets")
    trevoke = tsub.add_parser("revoke", help="revoke a token by its id")
    trevoke.add_argument("token_id")
    tok.set_defaults(func=_cmd_token)

    replenish = sub.add_parser(
        "replenish", help="low-stock replenishments: list, get, confirm, receive, retry"
    )
    rpsub = replenish.add_subparsers(dest="action", required=True)
    rpl = rpsub.add_parser("list")
    rpl.add_argument("--status", choices=["open", "closed"])
    rpl.add_argument("--warehouse")
    rpl.add_argument("--sku")
    rpsub.add_parser("get", help="by workflow or purchase order id").add_argument("reference")
    rpc = rpsub.add_parser("confirm", help="the supplier confirmed the purchase order")
    rpc.add_argument("reference", help="purchase order id (PO-...) or workflow id")
    rpc.add_argument("--supplier-ref", default="", help="the supplier's order number")
    rpr = rpsub.add_parser("receive", help="goods arrived (fills backorders oldest first)")
    rpr.add_argument("reference", help="purchase order id (PO-...) or workflow id")
    rpr.add_argument("quantity", type=int)
    rpt = rpsub.add_parser("retry", help="raise the purchase order again (supplier linked)")
    rpt.add_argument("reference")
    replenish.set_defaults(func=_cmd_replenish)

    reorder = sub.add_parser("reorder", help="reorder point and quantity per warehouse and SKU")
    rosub = reorder.add_subparsers(dest="action", required=True)
    ros = rosub.add_parser("set", help="reorder when available <= POINT; order QTY")
    ros.add_argument("warehouse_id")
    ros.add_argument("sku")
    ros.add_argument("--point", type=int, required=True)
    ros.add_argument("--qty", type=int, required=True)
    ros.add_argument("--supplier", help="buy the SKU from this supplier id")
    rog = rosub.add_parser("get")
    rog.add_argument("warehouse_id")
    rog.add_argument("sku")
    reorder.set_defaults(func=_cmd_reorder)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args, Settings()))


if __name__ == "__main__":
    main()
