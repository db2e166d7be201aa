"""carrier.* activities against the sandbox carrier over real HTTP and a real store."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.adapters.carrier_http import CarrierClient
from activities.carrier import CarrierActivities
from oms.domain.shipping import choose_rate
from oms.models.carrier import Label, LabelRequest, RateRequest, VoidLabelRequest
from oms.models.common import Address
from oms.models.inventory import ProductIn
from oms.models.shipments import Package, ShipmentLine
from oms.store.db import Database
from oms.store.inventory import StockStore, upsert_product
from oms.store.labels import LabelStore, customs_of
from oms.store.tables import LabelRow
from sandboxes.carrier import SandboxConfig

from carrier_fixtures import RunningCarrier, WebhookRecorder, running_sandbox_carrier

WAREHOUSE = Address(
    name="Warehouse Stockholm",
    line1="Lagergatan 1",
    postal_code="114 55",
    city="Stockholm",
    country="SE",
)
CUSTOMER = Address(name="Bo", line1="Avenyn 2", postal_code="411 01", city="Göteborg", country="SE")
NOWHERE = CUSTOMER.model_copy(update={"postal_code": "4110"})


@pytest.fixture
def carrier_db(tmp_path: Path) -> Path:
    return tmp_path / "carrier.db"


@pytest.fixture
def carrier(carrier_db: Path) -> Iterator[RunningCarrier]:
    with (
        WebhookRecorder() as webhook,
        running_sandbox_carrier(
            SandboxConfig(db_path=str(carrier_db), webhook_url=webhook.url, seed=3)
        ) as running,
    ):
        yield running


@pytest.fixture
async def client(carrier: RunningCarrier) -> AsyncIterator[CarrierClient]:
    client = CarrierClient(carrier.url, timeout_s=10)
    yield client
    await client.aclose()


@pytest.fixture
def acts(client: CarrierClient, db: Database) -> CarrierActivities:
    return CarrierActivities(client, LabelStore(db))


def label_request(key: str = "A-1:S-1:label", ship_to: Address = CUSTOMER) -> LabelRequest:
    return LabelRequest(
        idempotency_key=key,
        shipment_id="A-1:S-1",
        service="standard",
        ship_from=WAREHOUSE,
        ship_to=ship_to,
        packages=[Package(weight_grams=1500)],
    )


def label_rows(db: Database) -> list[LabelRow]:
    with db.session() as session:
        return list(session.scalars(select(LabelRow)))


def carrier_label_count(carrier_db: Path) -> int:
    conn = sqlite3.connect(carrier_db)
    try:
        return int(conn.execute("SELECT count(*) FROM labels").fetchone()[0])
    finally:
        conn.close()


async def test_quote_rates_returns_the_carriers_rates(acts: CarrierActivities) -> None:
    request = RateRequest(
        ship_from=WAREHOUSE, ship_to=CUSTOMER, packages=[Package(weight_grams=800)]
    )

    quote = await ActivityEnvironment().run(acts.quote_rates, request)

    assert {r.service for r in quote.rates} == {"economy", "standard", "express"}
    assert choose_rate(quote.rates, "express").service == "express"
    assert choose_rate(quote.rates, "standard").service == "economy"


async def test_buying_twice_with_one_key_makes_one_label_row_and_one_carrier_label(
    acts: CarrierActivities, db: Database, carrier: RunningCarrier, carrier_db: Path
) -> None:
    env = ActivityEnvironment()
    first = await env.run(acts.buy_label, label_request())
    # The second attempt must not need the carrier at all: it is already recorded.
    await carrier.aconfigure(failure_rate_503=1.0)
    second = await env.run(acts.buy_label, label_request())

    assert second == first
    [row] = label_rows(db)
    assert (row.idempotency_key, row.label_id, row.tracking_number) == (
        "A-1:S-1:label",
        first.label_id,
        first.tracking_number,
    )
    assert row.shipment_id == "A-1:S-1" and row.voided is False
    assert carrier_label_count(carrier_db) == 1


async def test_a_label_key_replayed_for_another_shipment_or_service_is_refused(
    acts: CarrierActivities, carrier: RunningCarrier, carrier_db: Path
) -> None:
    """The attack: a key replayed with other content used to get the old label back (a
    parcel shipped on someone else's label). The OMS's record refuses it, and so does the
    carrier for a key it never recorded here: both as a permanent error."""
    env = ActivityEnvironment()
    first = await env.run(acts.buy_label, label_request())
    other_shipment = label_request().model_copy(update={"shipment_id": "B-9:S-1"})
    other_service = label_request().model_copy(update={"service": "express"})
    for replay in (other_shipment, other_service):
        with pytest.raises(ApplicationError) as caught:
            await env.run(acts.buy_label, replay)
        assert caught.value.type == "IdempotencyMismatch" and caught.value.non_retryable
    # Not recorded by the OMS, but used at the carrier with other content: its 409.
    with pytest.raises(ApplicationError) as at_carrier:
        client = CarrierClient(carrier.url, timeout_s=10)
        try:
            await env.run(
                CarrierActivities(client, _Forgetful()).buy_label,
                label_request().model_copy(update={"packages": [Package(weight_grams=9000)]}),
            )
        finally:
            await client.aclose()
    assert at_carrier.value.type == "CarrierRejected" and at_carrier.value.non_retryable
    assert "idempotency_key_reused" in at_carrier.value.message
    assert carrier_label_count(carrier_db) == 1
    assert (await env.run(acts.buy_label, label_request())) == first


class _Forgetful:
    """A label record that never remembers (the OMS's store lost the row)."""

    def find(self, key: str) -> None:
        return None

    def owner_of(self, key: str) -> None:
        return None

    def record(self, key: str, owner_id: str, label: Label, customs: object = None) -> Label:
        return label

    def mark_voided(self, label_id: str) -> None:
        return None


async def test_a_label_bought_before_a_crash_is_recorded_not_bought_again(
    acts: CarrierActivities, client: CarrierClient, db: Database, carrier_db: Path
) -> None:
    # An earlier attempt bought the label, then died before recording it.
    lost = await client.buy_label(label_request())

    label = await ActivityEnvironment().run(acts.buy_label, label_request())

    assert label == lost
    assert [r.label_id for r in label_rows(db)] == [lost.label_id]
    assert carrier_label_count(carrier_db) == 1


async def test_concurrent_attempts_with_one_key_agree_on_one_label(
    acts: CarrierActivities, db: Database, carrier_db: Path
) -> None:
    env = ActivityEnvironment()
    labels = await asyncio.gather(*(env.run(acts.buy_label, label_request()) for _ in range(4)))

    assert len({label.label_id for label in labels}) == 1
    assert len(label_rows(db)) == 1
    assert carrier_label_count(carrier_db) == 1


async def test_an_invalid_address_is_a_non_retryable_error(
    acts: CarrierActivities, db: Database
) -> None:
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError) as quoted:
        await env.run(
            acts.quote_rates,
            RateRequest(ship_from=WAREHOUSE, ship_to=NOWHERE, packages=[Package(weight_grams=1)]),
        )
    with pytest.raises(ApplicationError) as bought:
        await env.run(acts.buy_label, label_request(ship_to=NOWHERE))

    for error in (quoted.value, bought.value):
        assert error.type == "InvalidAddress" and error.non_retryable
        # The reason travels in clear (Temporal failures, /ops/stuck): never the address.
        assert "postal code" in error.message and "4110" not in error.message
    assert label_rows(db) == []


async def test_a_carrier_answering_503_is_a_retryable_error(
    acts: CarrierActivities, carrier: RunningCarrier, db: Database
) -> None:
    await carrier.aconfigure(failure_rate_503=1.0)

    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.buy_label, label_request())

    assert caught.value.type == "CarrierUnavailable"
    assert not caught.value.non_retryable
    assert label_rows(db) == []


async def test_a_429_retries_after_the_carriers_retry_after(
    acts: CarrierActivities, carrier: RunningCarrier
) -> None:
    await carrier.aconfigure(failure_rate_429=1.0, retry_after_s=7)

    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(acts.buy_label, label_request())

    assert caught.value.type == "CarrierUnavailable" and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=7)


async def test_an_unreachable_carrier_is_a_retryable_error(db: Database) -> None:
    dead = CarrierClient("http://127.0.0.1:9", timeout_s=2)
    try:
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(
                CarrierActivities(dead, LabelStore(db)).buy_label, label_request()
            )
    finally:
        await dead.aclose()

    assert caught.value.type == "CarrierUnavailable" and not caught.value.non_retryable


async def test_void_marks_the_label_voided_and_is_idempotent(
    acts: CarrierActivities, db: Database
) -> None:
    env = ActivityEnvironment()
    label = await env.run(acts.buy_label, label_request())
    request = VoidLabelRequest(shipment_id="A-1:S-1", label_id=label.label_id)

    first = await env.run(acts.void_label, request)
    again = await env.run(acts.void_label, request)

    assert first.voided and again.voided and first.label_id == label.label_id
    [row] = label_rows(db)
    assert row.voided is True


async def test_voiding_a_scanned_label_is_a_non_retryable_rejection(
    acts: CarrierActivities, carrier: RunningCarrier, db: Database
) -> None:
    env = ActivityEnvironment()
    label = await env.run(acts.buy_label, label_request())
    async with httpx.AsyncClient() as http:
        scanned = await http.post(f"{carrier.url}/v1/sandbox/advance/{label.tracking_number}")
    assert scanned.status_code == 200

    with pytest.raises(ApplicationError) as caught:
        await env.run(
            acts.void_label, VoidLabelRequest(shipment_id="A-1:S-1", label_id=label.label_id)
        )

    assert caught.value.type == "CarrierRejected" and caught.value.non_retryable
    assert label_rows(db)[0].voided is False


OSLO = Address(
    name="Kari",
    line1="Karl Johans gate 3",
    postal_code="0150",
    city="Oslo",
    country="NO",
    phone="+47 22 00 00 00",
)


def _catalogue(db: Database, *products: tuple[str, str | None]) -> StockStore:
    with db.session() as session:
        for sku, hs_code in products:
            upsert_product(
                session,
                sku,
                ProductIn(
                    name=f"Product {sku}",
                    unit_price="99.00",
                    weight_grams=250,
                    hs_code=hs_code,
                    origin_country="PT" if hs_code else None,
                ),
            )
    return StockStore(db)


def _to_oslo(*lines: ShipmentLine) -> LabelRequest:
    return label_request("NO-1:S-1:label", OSLO).model_copy(
        update={"order_id": "NO-1", "lines": list(lines), "currency": "NOK"}
    )


async def test_a_label_leaving_the_eu_is_bought_with_its_customs_declaration_and_keeps_it(
    client: CarrierClient, db: Database
) -> None:
    acts = CarrierActivities(
        client, LabelStore(db), catalogue=_catalogue(db, ("TEE", "610910")), incoterms="DDP"
    )

    label = await ActivityEnvironment().run(
        acts.buy_label, _to_oslo(ShipmentLine(sku="TEE", quantity=3, unit_price=Decimal("100")))
    )

    with db.session() as session:
        declared = customs_of(session, "A-1:S-1")
    assert label.tracking_number
    assert declared is not None
    assert (declared.incoterms, declared.import_country, declared.total_value) == (
        "DDP",
        "NO",
        Decimal("300.00"),
    )
    assert [(i.sku, i.hs_code, i.origin_country, i.weight_grams) for i in declared.items] == [
        ("TEE", "610910", "PT", 750)
    ]


async def test_a_product_without_an_hs_code_is_not_labelled_for_customs(
    client: CarrierClient, db: Database, carrier_db: Path
) -> None:
    acts = CarrierActivities(client, LabelStore(db), catalogue=_catalogue(db, ("MUG", None)))

    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(
            acts.buy_label, _to_oslo(ShipmentLine(sku="MUG", quantity=1, unit_price=Decimal(9)))
        )

    assert refused.value.type == "CustomsDataMissing" and refused.value.non_retryable
    assert "MUG" in str(refused.value)
    assert carrier_label_count(carrier_db) == 0 and label_rows(db) == []
