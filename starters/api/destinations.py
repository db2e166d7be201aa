"""The one check of an address the API accepts: every route that takes a destination
(``POST /orders``, ``POST /quotes``, ``POST /subscriptions``, ``PATCH /subscriptions/{id}``,
``POST /orders/{id}/edits``) refuses what would only be held later, with a 422 naming
the fields: every field of the address the carrier would refuse, in one answer
(:func:`check_destination`), and the products that cross a customs border without the
data to declare them (:func:`check_customs`).

Checked here, at the API, not in ``oms.models.common.Address``: workflows decode that
model too, and one already running with an address a new rule refuses would fail to
decode its own input on replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool

from oms.countries import COUNTRIES
from oms.domain import customs
from oms.domain.shipping import AddressLike, address_problems, needs_customs
from oms.store import inventory
from oms.store.db import Database
from starters.api.deps import field_error, field_errors


def check_country(address: AddressLike, loc: list[str | int]) -> None:
    """422 naming ``loc`` + ``country`` when the address's country is not an ISO 3166-1
    alpha-2 code (``XX``): taxed and priced as anywhere else, it would be shipped nowhere.

    For an address nothing is shipped to (``bill_to``, a checkout's shipping quote) as for
    a destination (:func:`check_destination` calls it first).
    """
    if address.country not in COUNTRIES:
        raise field_error(
            [*loc, "country"], "not an ISO 3166-1 alpha-2 country code", address.country
        )


def check_destination(address: AddressLike, loc: list[str | int]) -> None:
    """422 naming every field of the address at ``loc`` (``["ship_to"]``: the body's field)
    that the carrier would hold the shipment for, all in one answer: an unknown ``country``
    (:func:`check_country`), a ``postal_code`` not of its country's format (the answer says
    which), a missing or invalid US state in ``region``, a missing phone for a parcel through
    customs (or a ``phone`` that is not one).

    The same rules the carrier applies (oms.domain.shipping.address_problems). A real
    country the carrier does not serve, whose postal codes the OMS does not know, is the
    carrier's to refuse: the shipment is held for a person, as before.
    """
    check_country(address, loc)
    problems: list[tuple[list[str | int], str, Any]] = []
    for name, reason in address_problems(address, customs=needs_customs(address.country)):
        if name == "country":
            continue  # not served: no format known here (see above)
        # Not the phone itself in the answer: it is contact data.
        value = {"region": address.region, "postal_code": address.postal_code}.get(name)
        problems.append(([*loc, name], reason, value))
    if problems:
        raise field_errors(problems)


def _lacking(db: Database, skus: Sequence[str]) -> set[str]:
    with db.read() as session:
        return set(customs.lacking(inventory.products_by_sku(session, list(skus)), skus))


async def check_customs(
    db: Database,
    country: str,
    lines: Sequence[str | None],
    loc: list[str | int],
    *,
    kept: Sequence[str] = (),
    kept_loc: list[str | int] | None = None,
) -> None:
    """422 when a parcel to ``country`` crosses a customs border with a product that has no
    HS code or country of origin: it could not be declared and would only be held.

    ``lines`` are the body's SKUs, named ``[*loc, i, "sku"]`` (None for a line that ships
    nothing: an edit taking it off); ``kept`` are SKUs already on the order or subscription
    (an edit or change of address), named ``kept_loc`` (the field that moved them abroad).
    Nothing is read when ``country`` needs no customs.
    """
    if not needs_customs(country):
        return
    shipped = [sku for sku in (*lines, *kept) if sku is not None]
    lacking = await run_in_threadpool(_lacking, db, shipped)
    why = f"product has no HS code or country of origin, required for shipments to {country}"
    for i, sku in enumerate(lines):
        if sku is not None and sku in lacking:
            raise field_error([*loc, i, "sku"], f"{why} (customs)", sku)
    for sku in kept:
        if sku in lacking and kept_loc is not None:
            raise field_error(kept_loc, f"{sku}: {why} (customs)", country)
