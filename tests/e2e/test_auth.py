"""Authentication and roles over real HTTP: every route answers 401/403 right for each role,
identities come from the token (a spoofing body changes nothing), buyers see only their
own, stored tokens work until revoked, and the carrier webhook needs its HMAC signature.

Runs on SQLite and on PostgreSQL (the ``database_url`` fixture), but for the every-route,
every-role matrix: it checks the API's role rules, which no store changes, so it runs once,
on SQLite.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from temporalio.client import Client

from oms.domain.auth import ROLES, event_headers
from oms.store import tokens
from oms.store.tables import ReceivedEventRow
from starters.api.app import create_app
from workflows.quote import quote_workflow_id

from stack import order_body, running_stack, wait_until

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

# The merchant's systems (integration) read orders, shipments and returns too.
STAFF_READERS = {"support", "ops", "sales", "sales_manager", "finance", "warehouse", "integration"}
SELLERS = {"sales", "sales_manager", "sales_director"}
APPROVERS = {"sales_manager", "sales_director", "finance", "cfo"}
EVERYONE = set(ROLES)
STAFF = EVERYONE - {"buyer"}

REPORTS = (
    "",
    "/orders",
    "/funnel",
    "/backorders",
    "/skus",
    "/low-stock",
    "/returns",
    "/cancellations",
    "/subscriptions",
    "/forecast",
)

# Who may call each route (admin may call every one). A new route must be added here,
# or to PUBLIC, or test_every_route_is_in_the_table fails.
ROUTES: dict[tuple[str, str], set[str]] = {
    ("POST", "/orders"): {"buyer", "sales", "support", "channel"},
    ("GET", "/orders"): {"buyer"} | STAFF_READERS,
    ("GET", "/orders/{order_id}"): {"buyer"} | STAFF_READERS,
    ("POST", "/orders/{order_id}/cancel"): {"buyer", "support", "ops"},
    ("POST", "/orders/{order_id}/returns"): {"buyer", "support"},
    ("POST", "/orders/{order_id}/credit-approval"): {"finance", "cfo"},
    ("POST", "/orders/{order_id}/approvals"): APPROVERS,
    ("POST", "/orders/{order_id}/notes"): {
        "support",
        "ops",
        "sales",
        "sales_manager",
        "finance",
        "warehouse",
    },
    ("POST", "/orders/{order_id}/hold"): {"support", "ops"},
    ("POST", "/orders/{order_id}/release"): {"support", "ops"},
    ("POST", "/orders/{order_id}/refunds"): {"support", "ops", "finance"},
    ("POST", "/orders/{order_id}/lines/{sku}/cancel"): {"buyer", "support", "ops"},
    ("POST", "/orders/{order_id}/edits"): {"buyer", "support", "ops"},
    ("GET", "/returns"): {"buyer"} | STAFF_READERS,
    ("GET", "/returns/{rma_id}"): {"buyer"} | STAFF_READERS,
    ("POST", "/returns/{rma_id}/authorize"): {"support"},
    ("POST", "/returns/{rma_id}/reject"): {"support"},
    ("POST", "/returns/{rma_id}/receive"): {"warehouse"},
    ("POST", "/returns/{rma_id}/retry-refund"): {"ops"},
    ("POST", "/quotes"): {"buyer", "sales"},
    ("GET", "/quotes"): {"buyer", "support"} | SELLERS | APPROVERS,
    ("GET", "/quotes/{quote_id}"): {"buyer", "support"} | SELLERS | APPROVERS,
    ("POST", "/quotes/{quote_id}/proposals"): SELLERS,
    ("POST", "/quotes/{quote_id}/counter-offers"): {"buyer"},
    ("POST", "/quotes/{quote_id}/approvals"): APPROVERS,
    ("POST", "/quotes/{quote_id}/accept"): {"buyer"},
    ("POST", "/quotes/{quote_id}/withdraw"): {"buyer"} | SELLERS,
    ("POST", "/quotes/{quote_id}/reopen"): {"buyer"} | SELLERS,
    ("GET", "/companies"): {"support"} | SELLERS | APPROVERS,
    ("PUT", "/companies/{company_id}"): set(),
    ("GET", "/companies/{company_id}/credit"): {"buyer", "support"} | SELLERS | APPROVERS,
    ("GET", "/companies/{company_id}/members"): {"support"} | SELLERS | APPROVERS,
    ("PUT", "/companies/{company_id}/members/{customer_id}"): {"sales"},
    ("DELETE", "/companies/{company_id}/members/{customer_id}"): {"sales"},
    ("GET", "/products"): EVERYONE,
    ("GET", "/products/{sku}"): EVERYONE,
    ("PUT", "/products/{sku}"): set(),
    ("GET", "/price-lists/{currency}/prices"): EVERYONE,
    ("GET", "/price-lists/{currency}/prices/{sku}"): EVERYONE,
    ("PUT", "/price-lists/{currency}/prices/{sku}"): set(),
    ("POST", "/shipping/quotes"): EVERYONE,
    ("GET", "/warehouses"): STAFF,
    ("GET", "/warehouses/{warehouse_id}"): STAFF,
    ("PUT", "/warehouses/{warehouse_id}"): set(),
    ("GET", "/warehouses/{warehouse_id}/stock"): STAFF,
    ("GET", "/stock"): STAFF,
    ("PUT", "/warehouses/{warehouse_id}/stock/{sku}"): {"warehouse"},
    ("GET", "/shipments"): STAFF_READERS,
    ("GET", "/shipments/{shipment_id}"): STAFF_READERS,
    ("POST", "/shipments/{shipment_id}/pick"): {"warehouse"},
    ("POST", "/shipments/{shipment_id}/pack"): {"warehouse"},
    ("POST", "/shipments/{shipment_id}/claims"): {"support", "ops"},
    ("POST", "/shipments/{shipment_id}/address"): {"support", "ops"},
    ("GET", "/shipments/{shipment_id}/packing-slip"): {"warehouse"},
    ("GET", "/shipments/{shipment_id}/commercial-invoice"): STAFF_READERS,
    ("GET", "/orders/{order_id}/invoices"): {"buyer"} | STAFF_READERS,
    ("POST", "/companies/{company_id}/payments"): {"finance", "cfo"},
    ("GET", "/ops/stuck"): {"ops"},
    ("POST", "/ops/workflows/{workflow_id}/retry-now"): {"ops"},
    ("POST", "/ops/orders/{order_id}/cancel"): {"ops"},
    ("POST", "/ops/orders/{order_id}/release-hold"): {"ops", "finance", "cfo"},
    ("POST", "/ops/shipments/{shipment_id}/reroute"): {"ops"},
    ("POST", "/ops/orders/{order_id}/resend"): {"ops"},
    ("GET", "/suppliers"): STAFF,
    ("PUT", "/suppliers/{supplier_id}"): set(),
    ("GET", "/warehouses/{warehouse_id}/reorder-policies/{sku}"): STAFF,
    ("PUT", "/warehouses/{warehouse_id}/reorder-policies/{sku}"): {"ops"},
    ("GET", "/replenishment"): STAFF,
    ("GET", "/replenishment/{reference}"): STAFF,
    ("POST", "/replenishment/{reference}/confirm"): {"ops"},
    ("POST", "/replenishment/{reference}/receipts"): {"warehouse"},
    ("POST", "/replenishment/{reference}/retry"): {"ops"},
    **{("GET", f"/reports{name}"): STAFF for name in REPORTS},
    ("POST", "/webhooks/endpoints"): {"integration"},
    ("GET", "/webhooks/endpoints"): {"integration"},
    ("GET", "/webhooks/endpoints/{endpoint_id}"): {"integration"},
    ("DELETE", "/webhooks/endpoints/{endpoint_id}"): {"integration"},
    ("GET", "/webhooks/endpoints/{endpoint_id}/deliveries"): {"integration"},
    ("POST", "/webhooks/endpoints/{endpoint_id}/replay"): {"integration"},
    ("GET", "/events"): {"integration", "ops"},
    ("POST", "/subscriptions"): {"buyer", "support"},
    ("GET", "/subscriptions"): {"buyer"} | STAFF_READERS,
    ("GET", "/subscriptions/{subscription_id}"): {"buyer"} | STAFF_READERS,
    ("PATCH", "/subscriptions/{subscription_id}"): {"buyer", "support"},
    **{
        ("POST", f"/subscriptions/{{subscription_id}}/{action}"): {"buyer", "support"}
        for action in ("pause", "resume", "skip", "cancel")
    },
}
# No bearer token: health and docs for anyone, metrics for the scraper, and the carrier
# webhook, which is authenticated by its HMAC signature instead.
PUBLIC = {
    ("GET", "/health"),
    # Probes: a kubelet sends no token.
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
    ("POST", "/carrier/events"),
}
BROWSER_PAGES = {"/reports"}
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _concrete(path: str) -> str:
    # Ids that exist nowhere: a permitted caller gets past auth to a 404 or a 422, never a change.
    return re.sub(r"\{[a-z_]+\}", "NO-SUCH-ID", path)


def _forbidden_by_role(response: httpx.Response) -> bool:
    if response.status_code != 403:
        return False
    return bool(response.json()["title"] == "Forbidden")


def test_every_route_is_in_the_table() -> None:
    """A route added without a decision about who may call it fails here."""
    routes = {
        (method, path)
        for method, path in _method_paths(create_app().routes)
        if method != "HEAD" and path not in DOCS
    }
    assert routes - PUBLIC - set(ROUTES) == set()
    assert set(ROUTES) - routes == set()
    assert routes >= PUBLIC
    # The OpenAPI document says which need a token (the "Authorize" button in /docs).
    paths = create_app().openapi()["paths"]
    for method, path in ROUTES:
        assert paths[path][method.lower()]["security"] == [{"HTTPBearer": []}], (method, path)
    assert "security" not in paths["/carrier/events"]["post"]


def _method_paths(routes: list[Any]) -> set[tuple[str, str]]:
    # Recent FastAPI keeps an included router as one entry wrapping the original router.
    found: set[tuple[str, str]] = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found |= _method_paths(included.routes)
        else:
            found |= {(m, route.path) for m in getattr(route, "methods", None) or ()}
    return found


async def test_every_route_answers_401_or_403_right_for_every_role(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        failures = []
        for (method, path), allowed in ROUTES.items():
            url = _concrete(path)
            body = {} if method in ("POST", "PUT") else None
            anonymous = await stack.as_token(None).request(method, url, json=body)
            if anonymous.status_code != 401 or "bearer" not in anonymous.text.lower():
                failures.append((method, path, "no token", anonymous.status_code))
            elif not anonymous.headers.get("www-authenticate", "").startswith(
                # The report page is opened in a browser: its challenge makes it ask.
                "Basic realm=" if path in BROWSER_PAGES else "Bearer"
            ):
                failures.append((method, path, "no WWW-Authenticate", anonymous.status_code))
            bogus = await stack.as_token("oms_nope_nope").request(method, url, json=body)
            if bogus.status_code != 401:
                failures.append((method, path, "unknown token", bogus.status_code))
            for role in ROLES:
                response = await stack.as_role(role).request(method, url, json=body)
                refused = _forbidden_by_role(response)
                if role == "admin" or role in allowed:
                    if response.status_code == 401 or refused:
                        failures.append((method, path, role, response.status_code))
                elif not refused or "allowed roles" not in response.text:
                    failures.append((method, path, role, response.status_code))
        assert failures == []

        health = await stack.as_token(None).get("/health")
        assert health.status_code == 200
        docs = await stack.as_token(None).get("/openapi.json")
        assert docs.status_code == 200


async def test_approvals_picks_and_interventions_record_the_token_not_the_body(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        sku = f"RACK-{uuid.uuid4().hex[:5].upper()}"
        assert (
            await stack.api.put(f"/products/{sku}", json={"name": "Rack", "unit_price": "1000.00"})
        ).status_code == 200
        stocked = await stack.as_role("warehouse").put(
            f"/warehouses/WH-STO/stock/{sku}", json={"on_hand": 100}
        )
        assert stocked.status_code == 200, stocked.text

        buyer = stack.as_token("dev-buyer-C-ACME-AB")
        quote_id = f"Q-{uuid.uuid4().hex[:8].upper()}"
        created = await buyer.post("/quotes", json=_quote_body(quote_id, sku))
        assert created.status_code == 202, created.text
        proposed = await stack.as_role("sales").post(
            f"/quotes/{quote_id}/proposals",
            json={
                "by": "Somebody Else",
                "overrides": [{"sku": sku, "unit_price": "850.00", "reason": "volume deal"}],
            },
        )
        assert proposed.status_code == 200, proposed.text
        assert [a["role"] for a in proposed.json()["approvals"]] == ["sales_manager"]

        # A salesperson cannot approve their own discount by claiming the manager's role.
        spoof = await stack.as_role("sales").post(
            f"/quotes/{quote_id}/approvals",
            json={"approver": "Maria Manager", "role": "sales_manager", "decision": "approve"},
        )
        assert spoof.status_code == 403
        assert "allowed roles" in spoof.json()["detail"]
        # A finance user claiming to be the manager is recorded as themself, in their own role.
        finance = await stack.as_role("finance").post(
            f"/quotes/{quote_id}/approvals",
            json={"approver": "Maria Manager", "role": "sales_manager", "decision": "approve"},
        )
        assert finance.status_code == 403
        assert finance.json()["title"] == "WrongRole"
        # The workflow's own state (the read model may lag): nothing was decided.
        handle = temporal_client.get_workflow_handle(quote_workflow_id(quote_id))
        quote = await handle.query("state")
        assert quote["status"] == "pending_approval"
        assert quote["approvals"][0]["decided_by"] is None

        approved = await stack.as_role("sales_manager").post(
            f"/quotes/{quote_id}/approvals",
            json={"approver": "The CFO", "role": "cfo", "decision": "approve"},
        )
        assert approved.status_code == 200, approved.text
        quote = await handle.query("state")
        assert quote["status"] == "approved"
        [approval] = quote["approvals"]
        assert approval["decided_by"] == "dev-sales_manager"
        assert any(
            h["by"] == "dev-sales_manager" and "as sales_manager" in h["note"]
            for h in quote["history"]
        )
        assert "The CFO" not in json.dumps(quote)

        # Another buyer may neither see nor accept it; the owner accepts as themself.
        # Another tenant's quote answers as one that does not exist (ids cannot be probed).
        other = stack.as_token("dev-buyer-C-OTHER")
        assert (await other.get(f"/quotes/{quote_id}")).status_code == 404
        stolen = await other.post(f"/quotes/{quote_id}/accept", json={"po_number": "PO-1"})
        assert stolen.status_code == 404
        accepted = await buyer.post(
            f"/quotes/{quote_id}/accept", json={"by": "Not Me", "po_number": "PO-4711"}
        )
        assert accepted.status_code == 200, accepted.text
        assert (await buyer.get(f"/quotes/{quote_id}")).status_code == 200
        quote = await handle.query("state")
        assert any(h["by"] == "dev-buyer-C-ACME-AB" for h in quote["history"])
        assert "Not Me" not in json.dumps(quote)

        # The warehouse's pick is recorded as the warehouse token, whatever the body says.
        order_id = accepted.json()["order_id"]
        order = await stack.wait_for_status(order_id, {"picking"}, timeout_s=30)
        sid = order["shipments"][0]["shipment_id"]
        picked = await stack.as_role("warehouse").post(
            f"/shipments/{sid}/pick", json={"picked_by": "Mallory"}
        )
        assert picked.status_code == 200, picked.text
        assert picked.json()["picked_by"] == "dev-warehouse"  # the workflow's own state

        async def read_model_picker() -> str | None:
            shipment = (await stack.as_role("warehouse").get(f"/shipments/{sid}")).json()
            picker: str | None = shipment["picked_by"]
            return picker

        recorded = await wait_until(read_model_picker, 15, "the pick never reached the read model")
        assert recorded == "dev-warehouse"

        # An operator's intervention is recorded under the ops token, not the body's "by".
        resent = await stack.as_role("ops").post(
            f"/ops/orders/{order_id}/resend",
            json={"by": "Mallory", "reason": "customer lost it", "notification": "order_confirmed"},
        )
        assert resent.status_code == 200, resent.text
        notes = [h["note"] for h in resent.json()["history"]]
        assert "Operations (dev-ops): resend: customer lost it (order_confirmed)" in notes
        assert not any("Mallory" in n for n in notes)


async def test_a_buyer_places_reads_and_cancels_only_their_own_orders(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        order_id = f"AU-{uuid.uuid4().hex[:8].upper()}"
        body = order_body(order_id, [("CAP-NVY", 1, "199.00")])  # customer C-<order_id>
        owner = stack.as_token(f"dev-buyer-C-{order_id}")
        other = stack.as_token("dev-buyer-C-SOMEONE-ELSE")

        refused = await other.post("/orders", json=body)
        assert refused.status_code == 403, refused.text
        placed = await owner.post("/orders", json=body)
        assert placed.status_code == 202, placed.text
        await stack.wait_for_status(order_id, {"allocated", "picking"})

        assert (await owner.get(f"/orders/{order_id}")).status_code == 200
        assert (await other.get(f"/orders/{order_id}")).status_code == 404

        async def listed() -> list[str]:
            return [o["order_id"] for o in (await owner.get("/orders")).json()["items"]]

        assert await wait_until(listed, 15, "the order never reached the read model") == [order_id]
        assert (await other.get("/orders")).json()["items"] == []
        peek = await other.get("/orders", params={"customer_id": f"C-{order_id}"})
        assert peek.status_code == 403
        assert (await other.get("/returns")).json()["items"] == []

        not_theirs = await other.post(f"/orders/{order_id}/cancel", json={"reason": "mine now"})
        assert not_theirs.status_code == 404
        cancelled = await owner.post(
            f"/orders/{order_id}/cancel",
            json={"reason": "changed my mind", "requested_by": "support"},
        )
        assert cancelled.status_code == 200, cancelled.text
        order = await stack.wait_for_status(order_id, {"cancelled"})
        assert any(f"dev-buyer-C-{order_id}" in h["note"] for h in order["history"]), order[
            "history"
        ]


async def test_stored_tokens_work_until_revoked_and_dev_tokens_can_be_switched_off(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path, auth_dev_tokens=False) as (
        stack,
        _,
    ):
        with stack.db.session() as session:
            token, info = tokens.create_token(session, "warehouse", "kim@warehouse")
            buyer_token, _ = tokens.create_token(session, "buyer", "karin", company_id="ACME-AB")

        dev = await stack.as_role("admin").get("/stock")
        assert dev.status_code == 401
        assert dev.json()["detail"] == "unknown or revoked token"

        kim = stack.as_token(token)
        assert (await kim.get("/stock")).status_code == 200
        assert (await kim.get("/ops/stuck")).status_code == 403
        wrong_secret = stack.as_token(token[:-4] + "AAAA")
        assert (await wrong_secret.get("/stock")).status_code == 401

        karin = stack.as_token(buyer_token)
        assert (await karin.get("/companies/ACME-AB/credit")).status_code == 200
        assert (await karin.get("/companies/NORDIC-RETAIL/credit")).status_code == 404

        with stack.db.session() as session:
            tokens.revoke(session, info.token_id)
        revoked = await kim.get("/stock")
        assert revoked.status_code == 401
        assert revoked.headers["www-authenticate"] == "Bearer"


async def test_carrier_events_need_the_carrier_signature(
    temporal_client: Client, database_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, database_url, tmp_path) as (stack, _):
        order_id = f"AC-{uuid.uuid4().hex[:8].upper()}"
        assert (
            await stack.place(order_body(order_id, [("CAP-NVY", 1, "199.00")]))
        ).status_code == 202
        order = await stack.wait_for_status(order_id, {"picking"})
        sid = order["shipments"][0]["shipment_id"]
        await stack.as_role("warehouse").post(f"/shipments/{sid}/pick", json={})
        await stack.as_role("warehouse").post(
            f"/shipments/{sid}/pack", json={"packages": [{"weight_grams": 500}]}
        )
        order = await stack.wait_for_status(order_id, {"shipped"})
        tracking = order["shipments"][0]["tracking_number"]
        event = json.dumps({"tracking_number": tracking, "status": "delivered"}).encode()
        webhook = stack.as_token(None)
        headers = {"content-type": "application/json"}
        secret = stack.settings.carrier_webhook_secret
        now = datetime.now(UTC)

        unsigned = await webhook.post("/carrier/events", content=event, headers=headers)
        assert unsigned.status_code == 401
        assert unsigned.json()["title"] == "BadSignature"
        # A bearer token is no substitute for the carrier's signature.
        admin = await stack.api.post("/carrier/events", content=event, headers=headers)
        assert admin.status_code == 401
        forged = event_headers("not-the-secret", event, "e-1", now)
        wrong = await webhook.post("/carrier/events", content=event, headers=headers | forged)
        assert wrong.status_code == 401
        # Signed for another body: the signature covers the exact bytes.
        other = event_headers(secret, event + b" ", "e-1", now)
        tampered = await webhook.post("/carrier/events", content=event, headers=headers | other)
        assert tampered.status_code == 401
        # Captured and replayed six minutes later: the signed timestamp is too old.
        captured = event_headers(secret, event, "e-1", now - timedelta(minutes=6))
        replayed = await webhook.post("/carrier/events", content=event, headers=headers | captured)
        assert replayed.status_code == 401
        assert (await stack.order(order_id))["status"] == "shipped"

        good = event_headers(secret, event, "e-1", now)
        signed = await webhook.post("/carrier/events", content=event, headers=headers | good)
        assert signed.status_code == 202, signed.text
        assert signed.json()["status"] == "accepted"
        # The same message again within the window: acknowledged, not applied twice.
        again = await webhook.post("/carrier/events", content=event, headers=headers | good)
        assert again.status_code == 202, again.text
        assert again.json()["status"] == "duplicate"
        # The carrier retries it an hour later, signed afresh under the same id (it never
        # saw the answer): still the same event, past the signature's 5-minute window.
        with stack.db.session() as session:
            session.execute(
                update(ReceivedEventRow)
                .where(ReceivedEventRow.message_id == "e-1")
                .values(received_at=datetime.now(UTC) - timedelta(hours=1))
            )
        retry = event_headers(secret, event, "e-1", datetime.now(UTC))
        later = await webhook.post("/carrier/events", content=event, headers=headers | retry)
        assert later.status_code == 202, later.text
        assert later.json()["status"] == "duplicate"
        await stack.wait_for_status(order_id, {"completed"})


def _quote_body(quote_id: str, sku: str) -> dict[str, Any]:
    return {
        "quote_id": quote_id,
        "customer": {
            "id": "C-ACME-AB",
            "name": "Karin Ek",
            "email": "karin@acme.example",
            "company_id": "ACME-AB",
        },
        "currency": "SEK",
        "lines": [{"sku": sku, "quantity": 20}],
        "ship_to": {
            "name": "Acme Bygg AB",
            "line1": "Industrivägen 4",
            "postal_code": "171 48",
            "city": "Solna",
            "country": "SE",
        },
    }
