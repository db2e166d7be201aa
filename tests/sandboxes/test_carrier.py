"""The sandbox carrier over real HTTP: rates, labels, voids, tracking, chaos, simulation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from oms.domain.auth import verified_event_id
from sandboxes.carrier import SandboxConfig

from carrier_fixtures import RunningCarrier, WebhookRecorder, running_sandbox_carrier

STOCKHOLM = {
    "name": "Warehouse Stockholm",
    "line1": "Lagergatan 1",
    "postal_code": "114 55",
    "city": "Stockholm",
    "country": "SE",
}
STOCKHOLM_CUSTOMER = {**STOCKHOLM, "name": "Anna", "postal_code": "11122"}
GOTHENBURG = {
    "name": "Bo",
    "line1": "Avenyn 2",
    "postal_code": "411 01",
    "city": "Göteborg",
    "country": "SE",
}
OSLO = {
    "name": "Kari",
    "line1": "Karl Johans gate 3",
    "postal_code": "0150",
    "city": "Oslo",
    "country": "NO",
}


def rates_body(ship_to: dict[str, str], *weights: int) -> dict[str, Any]:
    return {
        "ship_from": STOCKHOLM,
        "ship_to": ship_to,
        "packages": [{"weight_grams": w} for w in weights or (1200,)],
    }


def label_body(shipment_id: str = "o-1:s-1", service: str = "standard") -> dict[str, Any]:
    return {**rates_body(GOTHENBURG), "shipment_id": shipment_id, "service": service}


def buy(carrier: RunningCarrier, key: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(
        f"{carrier.url}/v1/labels",
        json=body or label_body(),
        headers={"Idempotency-Key": key},
        timeout=10,
    )


@pytest.fixture
def webhook() -> Iterator[WebhookRecorder]:
    with WebhookRecorder() as recorder:
        yield recorder


@pytest.fixture
def config(tmp_path: Path, webhook: WebhookRecorder) -> SandboxConfig:
    return SandboxConfig(db_path=str(tmp_path / "carrier.db"), seed=7, webhook_url=webhook.url)


@pytest.fixture
def carrier(config: SandboxConfig) -> Iterator[RunningCarrier]:
    with running_sandbox_carrier(config) as running:
        yield running


def rates_of(carrier: RunningCarrier, body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    response = httpx.post(f"{carrier.url}/v1/rates", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return {r["service"]: r for r in response.json()["rates"]}


def test_rates_offer_economy_standard_and_express_in_sek(carrier: RunningCarrier) -> None:
    rates = rates_of(carrier, rates_body(GOTHENBURG))

    assert set(rates) == {"economy", "standard", "express"}
    assert {s: (r["speed"], r["transit_days"]) for s, r in rates.items()} == {
        "economy": ("standard", 5),
        "standard": ("standard", 2),
        "express": ("express", 1),
    }
    assert all(r["currency"] == "SEK" and r["carrier"] == "sandbox" for r in rates.values())
    prices = [Decimal(rates[s]["price"]) for s in ("economy", "standard", "express")]
    assert prices == sorted(prices) and prices[0] > 0


def test_rates_grow_with_weight_and_distance(carrier: RunningCarrier) -> None:
    local = rates_of(carrier, rates_body(STOCKHOLM_CUSTOMER, 1000))
    domestic = rates_of(carrier, rates_body(GOTHENBURG, 1000))
    heavy = rates_of(carrier, rates_body(GOTHENBURG, 9000))
    abroad = rates_of(carrier, rates_body(OSLO, 1000))

    def price(rates: dict[str, dict[str, Any]]) -> Decimal:
        return Decimal(rates["standard"]["price"])

    assert price(local) < price(domestic) < price(abroad)
    assert price(domestic) < price(heavy)
    assert abroad["standard"]["transit_days"] == 3


@pytest.mark.parametrize(
    ("country", "postal_code"),
    [
        ("SE", "1234"),
        ("SE", "114-55"),
        ("NO", "01500"),
        ("DK", "AB12"),
        ("DE", "1011"),
        ("JP", "1000001"),
    ],
)
def test_an_address_the_carrier_cannot_serve_is_422_invalid_address(
    carrier: RunningCarrier, country: str, postal_code: str
) -> None:
    bad = {**GOTHENBURG, "country": country, "postal_code": postal_code}
    response = httpx.post(f"{carrier.url}/v1/rates", json=rates_body(bad), timeout=10)

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_address"
    assert postal_code in response.json()["detail"] or country in response.json()["detail"]


@pytest.mark.parametrize(
    ("country", "postal_code"),
    [("SE", "11455"), ("DK", "2100"), ("FI", "00100"), ("DE", "10115"), ("GB", "SW1A 1AA")],
)
def test_valid_postal_codes_are_accepted(
    carrier: RunningCarrier, country: str, postal_code: str
) -> None:
    ok = {**GOTHENBURG, "country": country, "postal_code": postal_code}
    assert httpx.post(f"{carrier.url}/v1/rates", json=rates_body(ok), timeout=10).status_code == 200


BERLIN = {
    "name": "Lena",
    "line1": "Unter den Linden 5",
    "postal_code": "10117",
    "city": "Berlin",
    "country": "DE",
}
NEW_YORK = {
    "name": "Sam",
    "line1": "5th Avenue 1",
    "postal_code": "10001",
    "city": "New York",
    "country": "US",
    "region": "NY",
    "phone": "+1 212 555 0100",
}


def customs_for(shipment_id: str, country: str) -> dict[str, Any]:
    return {
        "shipment_id": shipment_id,
        "order_id": "o-1",
        "export_country": "SE",
        "import_country": country,
        "incoterms": "DAP",
        "currency": "NOK",
        "items": [
            {
                "sku": "TSHIRT-BLK-M",
                "description": "T-shirt",
                "quantity": 2,
                "unit_value": "249.00",
                "value": "498.00",
                "hs_code": "610910",
                "origin_country": "PT",
                "weight_grams": 360,
            }
        ],
        "total_value": "498.00",
        "total_weight_grams": 360,
    }


def test_each_zone_costs_more_and_takes_longer_the_farther_it_is(carrier: RunningCarrier) -> None:
    by_zone = {
        name: rates_of(carrier, rates_body(address, 1000))["standard"]
        for name, address in (
            ("domestic", GOTHENBURG),
            ("nordic", OSLO),
            ("eu", BERLIN),
            ("europe", {**BERLIN, "country": "CH", "postal_code": "8001", "city": "Zürich"}),
            ("world", NEW_YORK),
        )
    }

    prices = [Decimal(rate["price"]) for rate in by_zone.values()]
    assert prices == sorted(prices) and len(set(prices)) == len(prices)
    assert {name: rate["transit_days"] for name, rate in by_zone.items()} == {
        "domestic": 2,
        "nordic": 3,
        "eu": 4,
        "europe": 5,
        "world": 7,
    }


def test_a_us_address_without_a_state_is_refused_naming_the_rule(carrier: RunningCarrier) -> None:
    no_state = {k: v for k, v in NEW_YORK.items() if k != "region"}
    response = httpx.post(f"{carrier.url}/v1/rates", json=rates_body(no_state), timeout=10)

    assert response.status_code == 422
    assert response.json() == {
        "error": "invalid_address",
        "detail": "a region (state) is required in US",
    }


def test_a_label_into_the_eu_needs_no_customs_data(carrier: RunningCarrier) -> None:
    body = {**rates_body(BERLIN), "shipment_id": "o-de:s-1", "service": "standard"}
    assert buy(carrier, "k-de", body).status_code == 201


def test_a_label_leaving_the_eu_needs_the_receivers_phone_and_customs_data(
    carrier: RunningCarrier,
) -> None:
    oslo = {**rates_body(OSLO), "shipment_id": "o-no:s-1", "service": "standard"}
    no_phone = buy(carrier, "k-no-1", oslo)
    with_phone = {**oslo, "ship_to": {**OSLO, "phone": "+47 22 00 00 00"}}
    no_customs = buy(carrier, "k-no-2", with_phone)
    wrong_country = buy(carrier, "k-no-3", {**with_phone, "customs": customs_for("o-no:s-1", "GB")})
    declared = buy(carrier, "k-no-4", {**with_phone, "customs": customs_for("o-no:s-1", "NO")})

    assert (no_phone.status_code, no_phone.json()["error"]) == (422, "invalid_address")
    assert "phone" in no_phone.json()["detail"]
    assert (no_customs.status_code, no_customs.json()["error"]) == (422, "customs_data_required")
    assert wrong_country.status_code == 422
    assert declared.status_code == 201, declared.text
    # Rates come before the phone is known (a checkout's quote): no phone needed there.
    assert httpx.post(f"{carrier.url}/v1/rates", json=rates_body(OSLO), timeout=10).is_success


def test_buying_a_label_twice_with_one_key_returns_the_same_label(carrier: RunningCarrier) -> None:
    first = buy(carrier, "o-1:s-1:label")
    again = buy(carrier, "o-1:s-1:label")
    other = buy(carrier, "o-2:s-1:label")

    assert first.status_code == 201, first.text
    label = first.json()
    assert label["carrier"] == "sandbox" and label["service"] == "standard"
    assert label["currency"] == "SEK" and Decimal(label["price"]) > 0
    assert again.status_code == 200 and again.json() == label
    assert other.status_code == 201
    assert other.json()["label_id"] != label["label_id"]
    assert other.json()["tracking_number"] != label["tracking_number"]


def test_labels_survive_a_restart_of_the_carrier(config: SandboxConfig) -> None:
    with running_sandbox_carrier(config) as carrier:
        label = buy(carrier, "k-restart").json()
    with running_sandbox_carrier(config) as restarted:
        again = buy(restarted, "k-restart")
        tracking = httpx.get(f"{restarted.url}/v1/tracking/{label['tracking_number']}", timeout=10)

    assert again.status_code == 200 and again.json() == label
    assert tracking.status_code == 200 and tracking.json()["status"] == "created"


def test_a_key_reused_for_another_label_is_409(carrier: RunningCarrier) -> None:
    assert buy(carrier, "k-reuse").status_code == 201
    response = buy(carrier, "k-reuse", label_body(service="express"))
    assert response.status_code == 409 and response.json()["error"] == "idempotency_key_reused"


def test_a_label_needs_an_idempotency_key_and_a_known_service(carrier: RunningCarrier) -> None:
    no_key = httpx.post(f"{carrier.url}/v1/labels", json=label_body(), timeout=10)
    bad_service = buy(carrier, "k-svc", label_body(service="teleport"))

    assert no_key.status_code == 400
    assert bad_service.status_code == 422 and bad_service.json()["error"] == "unknown_service"


def test_void_is_idempotent_and_refused_after_the_first_scan(carrier: RunningCarrier) -> None:
    voided = buy(carrier, "k-void").json()
    scanned = buy(carrier, "k-scan", label_body("o-1:s-2")).json()

    def void(label_id: str) -> httpx.Response:
        return httpx.post(f"{carrier.url}/v1/labels/{label_id}/void", timeout=10)

    assert void(voided["label_id"]).json() == {"label_id": voided["label_id"], "voided": True}
    assert void(voided["label_id"]).status_code == 200
    tracking = httpx.get(f"{carrier.url}/v1/tracking/{voided['tracking_number']}", timeout=10)
    assert tracking.json()["status"] == "voided"

    httpx.post(f"{carrier.url}/v1/sandbox/advance/{scanned['tracking_number']}", timeout=10)
    late = void(scanned["label_id"])
    assert late.status_code == 409 and late.json()["error"] == "already_scanned"
    assert void("lbl_unknown").status_code == 404


def test_failures_can_be_injected_at_runtime(carrier: RunningCarrier) -> None:
    body = rates_body(GOTHENBURG)

    carrier.configure(failure_rate_503=1.0)
    unavailable = httpx.post(f"{carrier.url}/v1/rates", json=body, timeout=10)
    carrier.configure(failure_rate_503=0.0, failure_rate_429=1.0, retry_after_s=3)
    limited = buy(carrier, "k-429")
    carrier.configure(failure_rate_429=0.0)
    healthy = buy(carrier, "k-429")

    assert unavailable.status_code == 503
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    # The refused purchase had no effect: the retry creates the label.
    assert healthy.status_code == 201


def test_failures_configured_at_start_fail_about_that_share_of_requests(tmp_path: Path) -> None:
    config = SandboxConfig(db_path=str(tmp_path / "c.db"), failure_rate_503=0.5, seed=42)
    with running_sandbox_carrier(config) as carrier, httpx.Client(timeout=10) as client:
        codes = [
            client.post(f"{carrier.url}/v1/rates", json=rates_body(GOTHENBURG)).status_code
            for _ in range(200)
        ]
        # The sandbox's own controls are never failed.
        assert client.get(f"{carrier.url}/v1/sandbox/config").status_code == 200

    assert set(codes) == {200, 503}
    assert 60 < codes.count(503) < 140


def test_latency_is_added_to_each_request(carrier: RunningCarrier) -> None:
    carrier.configure(latency_ms=300)
    started = time.monotonic()
    response = httpx.post(f"{carrier.url}/v1/rates", json=rates_body(GOTHENBURG), timeout=10)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_simulation_posts_the_whole_journey_to_the_webhook(
    config: SandboxConfig, webhook: WebhookRecorder
) -> None:
    webhook.fail_first = 2
    simulated = config.model_copy(update={"simulate": True, "simulate_delay_s": 0.0})
    with running_sandbox_carrier(simulated) as carrier:
        label = buy(carrier, "k-sim").json()
        events = webhook.wait_for(3)
        tracking = httpx.get(f"{carrier.url}/v1/tracking/{label['tracking_number']}", timeout=10)

    assert [e["status"] for e in events] == ["in_transit", "out_for_delivery", "delivered"]
    assert {e["tracking_number"] for e in events} == {label["tracking_number"]}
    assert all(e["at"] and e["description"] for e in events)
    # The first two posts were refused and retried.
    assert webhook.attempts == 5
    # Each body is signed with the shared secret, so the OMS can tell it from a forgery.
    assert len(webhook.signed) == 3
    for body, headers in webhook.signed:
        assert verified_event_id(config.webhook_secret, body, headers) == headers["webhook-id"]
        assert verified_event_id("another-secret", body, headers) is None
    # One id per event, kept across its retries: the OMS applies each event once.
    assert len({headers["webhook-id"] for _, headers in webhook.signed}) == 3
    assert tracking.json()["status"] == "delivered"
    assert tracking.json()["events"] == events


def test_simulation_resumes_unfinished_parcels_after_a_restart(
    config: SandboxConfig, webhook: WebhookRecorder
) -> None:
    with running_sandbox_carrier(config) as carrier:
        label = buy(carrier, "k-resume").json()
        httpx.post(f"{carrier.url}/v1/sandbox/advance/{label['tracking_number']}", timeout=10)
    assert len(webhook.wait_for(1)) == 1

    resumed = config.model_copy(update={"simulate": True, "simulate_delay_s": 0.0})
    with running_sandbox_carrier(resumed):
        events = webhook.wait_for(3)

    assert [e["status"] for e in events] == ["in_transit", "out_for_delivery", "delivered"]


def test_advance_posts_one_event_per_call_until_delivered(
    carrier: RunningCarrier, webhook: WebhookRecorder
) -> None:
    number = buy(carrier, "k-adv").json()["tracking_number"]
    advances = [
        httpx.post(f"{carrier.url}/v1/sandbox/advance/{number}", timeout=10) for _ in range(4)
    ]
    unknown = httpx.post(f"{carrier.url}/v1/sandbox/advance/SBX000", timeout=10)

    journey = ["in_transit", "out_for_delivery", "delivered"]
    assert [a.status_code for a in advances] == [200, 200, 200, 409]
    assert [a.json()["event"]["status"] for a in advances[:3]] == journey
    assert all(a.json()["webhook_delivered"] for a in advances[:3])
    assert [e["status"] for e in webhook.received] == journey
    assert unknown.status_code == 404


def test_a_webhook_that_stays_down_is_reported_not_fatal(
    carrier: RunningCarrier, webhook: WebhookRecorder
) -> None:
    webhook.fail_first = 1000
    carrier.configure(webhook_backoff_s=0.01)
    number = buy(carrier, "k-down").json()["tracking_number"]
    advanced = httpx.post(f"{carrier.url}/v1/sandbox/advance/{number}", timeout=30)
    tracking = httpx.get(f"{carrier.url}/v1/tracking/{number}", timeout=10)

    assert advanced.status_code == 200 and advanced.json()["webhook_delivered"] is False
    assert webhook.attempts == 5
    # The scan happened anyway: the OMS can still read it from the tracking API.
    assert tracking.json()["status"] == "in_transit"


def test_the_same_request_is_failed_at_most_three_times_in_a_row(carrier: RunningCarrier) -> None:
    # A flaky carrier, not a down one: a streak of injected failures longer than a few
    # made a retrying label purchase wait minutes under exponential backoff, and the quick
    # flaky-carrier chaos test took 98 s to 266 s instead of about 20.
    carrier.configure(failure_rate_503=0.999999)  # flaky, about as badly as it gets
    codes = [buy(carrier, "k-streak").status_code for _ in range(4)]
    other = buy(carrier, "k-other").status_code
    carrier.configure(max_failures_in_a_row=0)  # no limit
    unlimited = [buy(carrier, "k-unlimited").status_code for _ in range(5)]
    carrier.configure(failure_rate_503=1.0, max_failures_in_a_row=3)  # down: no limit
    down = [buy(carrier, "k-down").status_code for _ in range(5)]
    carrier.configure(failure_rate_503=0.0)

    assert codes == [503, 503, 503, 201]
    assert other == 503  # another request's streak is its own
    assert unlimited == [503] * 5
    assert down == [503] * 5
