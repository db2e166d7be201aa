"""The order a quote becomes (``<quote id>-O``, ``oms.ids.order_id_for``) is the quote's:
taken for good with the quote's id, in one transaction.

Taken first by ``POST /orders``, it left an accepted quote without its order (the child's
start failed, the accept answered 500, the quote stayed ACCEPTED for ever). So:

- ``POST /orders`` with a quote's order id is a 409 ``OrderIdConflict`` that names the
  quote, also as a resubmission and once the quote's own order exists: never the quote's
  order as if it were the caller's;
- ``POST /quotes`` whose order id someone already placed is a 409 ``QuoteIdConflict`` that
  names the order id; it starts nothing and keeps nothing (the quote id stays free);
- a quote's resubmission is answered as before.

Real HTTP and a real Temporal server, no worker: a started workflow only waits.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from oms.ids import order_id_for, order_workflow_id, quote_workflow_id
from oms.store import idempotency, orders, quotes
from oms.store.db import Database
from oms.store.tables import ReservedIdRow

from inventory_fixtures import order_view
from quote_fixtures import quote_view
from stack import api_alone, order_body

pytestmark = [pytest.mark.timeout(120)]


def _quote(quote_id: str, quantity: int = 5) -> dict[str, Any]:
    """A valid ``POST /quotes`` body for Acme's buyer."""
    return {
        "quote_id": quote_id,
        "customer": {
            "id": "C-ACME-1",
            "name": "Karin",
            "email": "karin@acme.example",
            "company_id": "ACME-AB",
        },
        "currency": "SEK",
        "lines": [{"sku": "HOODIE-GRY-L", "quantity": quantity}],
        "ship_to": order_body(quote_id, [])["ship_to"],
    }


def _problem(answer: httpx.Response, status: int, title: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["title"] == title and body["type"] == f"/problems/{title}", body
    return str(body["detail"])


async def _never_started(client: Client, workflow_id: str) -> None:
    with pytest.raises(RPCError) as unknown:
        await client.get_workflow_handle(workflow_id).describe()
    assert unknown.value.status == RPCStatusCode.NOT_FOUND


async def _end(client: Client, *workflow_ids: str) -> None:
    """Not left waiting on the shared dev server."""
    for workflow_id in workflow_ids:
        try:
            await client.get_workflow_handle(workflow_id).terminate("test over")
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise


@asynccontextmanager
async def _api(
    client: Client, database_url: str, tmp: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    """The API alone, a client calling as ``dev-sales`` (who may ask for quotes and place
    orders), and its store."""
    with api_alone(client, database_url, tmp) as (url, settings):
        db = Database(settings.database_url)
        headers = {"Authorization": "Bearer dev-sales"}
        try:
            async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as api:
                yield api, db
        finally:
            db.dispose()


def _reserved(db: Database, kind: str, id_: str) -> tuple[str, str | None] | None:
    with db.read() as session:
        row = session.get(ReservedIdRow, (kind, id_))
        return None if row is None else (row.owner, row.body_hash)


def _qid() -> str:
    return f"Q-IDS-{uuid.uuid4().hex[:8].upper()}"


async def test_an_order_cannot_take_the_id_of_the_order_a_quote_becomes(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    quote_id = _qid()
    order_id = order_id_for(quote_id)
    try:
        async with _api(temporal_client, migrated_sqlite_url, tmp_path) as (api, db):
            created = await api.post("/quotes", json=_quote(quote_id))
            assert created.status_code == 202, created.text
            assert _reserved(db, "order", order_id) == (f"quote {quote_id}", None)

            body = order_body(order_id, [("CAP-NVY", 1, "199.00")])
            expected = (
                f"order {order_id} is kept for the order quote {quote_id} becomes; "
                "choose another order id"
            )
            detail = _problem(await api.post("/orders", json=body), 409, "OrderIdConflict")
            assert detail == expected
            # Sent again, the same: a refused order is no resubmission of anything.
            again = await api.post("/orders", json=body)
            assert _problem(again, 409, "OrderIdConflict") == expected
            await _never_started(temporal_client, order_workflow_id(order_id))

            # The quote's own order (its workflow starts it when accepted, past POST /orders)
            # is read as any order; placing its id is still refused, never answered with it.
            with db.session() as session:
                assert quotes.record_quote(session, quote_view(quote_id))
                assert orders.record_order(session, order_view(order_id, customer_id="C-ACME-1"))
            shown = await api.get(f"/orders/{order_id}")
            assert shown.status_code == 200, shown.text
            assert shown.json()["order_id"] == order_id
            again = await api.post("/orders", json=body)
            assert _problem(again, 409, "OrderIdConflict") == expected
            keyed = await api.post("/orders", json=body, headers={"Idempotency-Key": "k-1"})
            assert _problem(keyed, 409, "OrderIdConflict") == expected
    finally:
        await _end(temporal_client, quote_workflow_id(quote_id))


async def test_a_quote_whose_order_id_was_placed_first_is_refused_and_takes_nothing(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    quote_id = _qid()
    order_id = order_id_for(quote_id)
    try:
        async with _api(temporal_client, migrated_sqlite_url, tmp_path) as (api, db):
            placed = await api.post("/orders", json=order_body(order_id, [("CAP-NVY", 1, "199")]))
            assert placed.status_code == 202, placed.text

            refused = await api.post("/quotes", json=_quote(quote_id))
            detail = _problem(refused, 409, "QuoteIdConflict")
            await _never_started(temporal_client, quote_workflow_id(quote_id))
            # Nothing was kept: the quote id is free, the order id still the order's.
            assert _reserved(db, "quote", quote_id) is None
            assert detail == (
                f"quote {quote_id} cannot become order {order_id}: that id is taken; "
                "choose another quote id"
            )
            held = _reserved(db, "order", order_id)
            assert held is not None and held[1] is not None  # a client's: with its body hash
            # Another body for the same quote id is refused for the same reason, not as a
            # quote "with different content" (no quote was ever taken).
            other = await api.post("/quotes", json=_quote(quote_id, quantity=6))
            assert _problem(other, 409, "QuoteIdConflict") == detail
            assert _reserved(db, "quote", quote_id) is None
    finally:
        await _end(temporal_client, order_workflow_id(order_id))


async def test_a_quote_sent_again_is_answered_as_before(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    quote_id = _qid()
    order_id = order_id_for(quote_id)
    try:
        async with _api(temporal_client, migrated_sqlite_url, tmp_path) as (api, db):
            body = _quote(quote_id)
            created = await api.post("/quotes", json=body)
            assert created.status_code == 202, created.text
            assert created.json() == {"quote_id": quote_id, "status": "submitted"}
            # As its workflow writes it (no worker here to query).
            with db.session() as session:
                assert quotes.record_quote(session, quote_view(quote_id))

            again = await api.post("/quotes", json=body)
            assert again.status_code == 200, again.text
            assert again.json()["quote_id"] == quote_id
            assert _reserved(db, "order", order_id) == (f"quote {quote_id}", None)
            keyed = await api.post("/quotes", json=body, headers={"Idempotency-Key": "k-q"})
            assert keyed.status_code == 200, keyed.text

            other = await api.post("/quotes", json=_quote(quote_id, quantity=6))
            detail = _problem(other, 409, "QuoteIdConflict")
            assert detail == f"quote {quote_id} exists with different content"
    finally:
        await _end(temporal_client, quote_workflow_id(quote_id))


async def test_a_quote_from_before_reserved_ids_takes_its_order_id_when_accepted(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    """A quote created before the store kept ids has no reservation of its order id: the
    accept takes it, before the workflow hears of it; one whose order id was placed
    meanwhile is refused then (the workflow would set it ACCEPTED and fail to start it)."""
    older, squatted = _qid(), _qid()
    buyer = {"Authorization": "Bearer dev-buyer-C-ACME-AB"}  # the quote view's buyer
    accept = {"po_number": "PO-4711"}
    async with _api(temporal_client, migrated_sqlite_url, tmp_path) as (api, db):
        with db.session() as session:  # as their workflows wrote them; no workflow here
            assert quotes.record_quote(session, quote_view(older))
            assert quotes.record_quote(session, quote_view(squatted))
            idempotency.reserve_id(session, "order", order_id_for(squatted), "someone", "h")

        refused = await api.post(f"/quotes/{squatted}/accept", json=accept, headers=buyer)
        assert _problem(refused, 409, "QuoteIdConflict") == (
            f"quote {squatted} cannot become order {order_id_for(squatted)}: that id is taken; "
            "choose another quote id"
        )

        # No workflow to accept it (409 Finished), but its order id is the quote's now.
        answered = await api.post(f"/quotes/{older}/accept", json=accept, headers=buyer)
        _problem(answered, 409, "Finished")
        order_id = order_id_for(older)
        assert _reserved(db, "order", order_id) == (f"quote {older}", None)
        placed = await api.post("/orders", json=order_body(order_id, [("CAP-NVY", 1, "199")]))
        assert order_id in _problem(placed, 409, "OrderIdConflict")
