"""Cross-border rules: carrier zones, customs borders, address requirements, declarations."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms.domain.customs import MissingCustomsData, declaration, lacking
from oms.domain.shipping import (
    EU,
    POSTAL_CODE_FORMATS,
    POSTAL_CODES,
    SERVED,
    address_problems,
    crosses_customs_border,
    needs_customs,
    zone,
)
from oms.models.common import Address
from oms.models.inventory import Product
from oms.models.shipments import ShipmentLine


def address(country: str, postal_code: str, **extra: str) -> Address:
    return Address(
        name="Kari",
        line1="Street 1",
        postal_code=postal_code,
        city="City",
        country=country,
        **extra,
    )


@pytest.mark.parametrize(
    ("origin", "destination", "expected"),
    [
        ("SE", "SE", "domestic"),
        ("SE", "NO", "nordic"),
        ("SE", "FI", "nordic"),
        ("SE", "DE", "eu"),
        ("DE", "FR", "eu"),
        ("SE", "GB", "europe"),
        ("SE", "CH", "europe"),
        ("SE", "US", "world"),
        ("US", "SE", "world"),
    ],
)
def test_a_parcel_is_priced_by_the_zone_between_its_countries(
    origin: str, destination: str, expected: str
) -> None:
    assert zone(origin, destination) == expected


def test_the_carrier_serves_the_eu_norway_britain_switzerland_and_the_us() -> None:
    assert len(EU) == 27
    assert {"NO", "GB", "CH", "US"} == SERVED - EU
    assert set(POSTAL_CODES) == SERVED


@pytest.mark.parametrize(
    ("origin", "destination", "crosses"),
    [
        ("SE", "SE", False),
        ("SE", "DE", False),
        ("SE", "DK", False),
        ("SE", "NO", True),
        ("SE", "GB", True),
        ("SE", "CH", True),
        ("SE", "US", True),
        ("NO", "SE", True),  # an import into the EU is declared too
        ("NO", "NO", False),
    ],
)
def test_only_a_parcel_leaving_its_customs_area_is_declared(
    origin: str, destination: str, crosses: bool
) -> None:
    assert crosses_customs_border(origin, destination) is crosses


def test_from_the_eu_warehouses_customs_is_needed_outside_the_eu_only() -> None:
    assert [c for c in ("SE", "DE", "NO", "GB", "CH", "US") if needs_customs(c)] == [
        "NO",
        "GB",
        "CH",
        "US",
    ]


@pytest.mark.parametrize(
    ("country", "postal_code"),
    [
        ("DE", "10115"),
        ("NO", "0150"),
        ("GB", "SW1A 1AA"),
        ("GB", "ec1a1bb"),
        ("CH", "8001"),
        ("NL", "1012 AB"),
        ("PL", "00-950"),
        ("IE", "D02 X285"),
        ("SE", "114 55"),
    ],
)
def test_valid_postal_codes_of_served_countries_pass(country: str, postal_code: str) -> None:
    assert address_problems(address(country, postal_code)) == []


def test_a_bad_postal_code_or_an_unserved_country_names_the_field_not_the_value() -> None:
    assert address_problems(address("DE", "1011")) == [
        ("postal_code", "the postal code is not valid in DE (expected NNNNN, e.g. 10115)")
    ]
    assert address_problems(address("JP", "100-0001")) == [("country", "country JP is not served")]


@pytest.mark.parametrize("country", sorted(SERVED))
def test_each_served_countrys_format_names_an_example_its_rule_takes(country: str) -> None:
    """A refusal tells the caller what to send: the example it gives must pass."""
    example = POSTAL_CODE_FORMATS[country].split("e.g. ")[1]
    assert [f for f, _ in address_problems(address(country, example))] in ([], ["region"])


def test_a_us_address_needs_a_state() -> None:
    assert address_problems(address("US", "10001")) == [
        ("region", "a region (state) is required in US")
    ]
    assert address_problems(address("US", "10001", region="ZZ"))[0][0] == "region"
    assert address_problems(address("US", "10001-1234", region="ny")) == []


def test_a_parcel_through_customs_needs_the_receivers_phone() -> None:
    oslo = address("NO", "0150")
    assert address_problems(oslo) == []
    assert address_problems(oslo, customs=True) == [
        ("phone", "a phone number is required for a shipment through customs")
    ]
    assert address_problems(address("NO", "0150", phone="+47 22 00 00 00"), customs=True) == []
    assert address_problems(address("NO", "0150", phone="call me"))[0][0] == "phone"


PRODUCTS = {
    "TSHIRT": Product(
        sku="TSHIRT",
        name="T-shirt",
        unit_price="249.00",
        weight_grams=180,
        hs_code="610910",
        origin_country="PT",
    ),
    "JACKET": Product(
        sku="JACKET",
        name="Jacket",
        unit_price="1499.00",
        weight_grams=1400,
        hs_code="62033100",
        origin_country="LT",
    ),
    "MUG": Product(sku="MUG", name="Mug", unit_price="99.00", weight_grams=300),
}


def line(sku: str, quantity: int, price: str) -> ShipmentLine:
    return ShipmentLine(sku=sku, quantity=quantity, unit_price=Decimal(price))


def test_a_declaration_values_each_line_at_the_price_paid_with_its_hs_code_and_origin() -> None:
    declared = declaration(
        shipment_id="O-1-S1",
        order_id="O-1",
        export_country="SE",
        import_country="NO",
        lines=[line("TSHIRT", 2, "249.00"), line("JACKET", 1, "2499.00")],
        products=PRODUCTS,
        currency="NOK",
        incoterms="DAP",
    )

    assert [
        (i.sku, i.hs_code, i.origin_country, i.value, i.weight_grams) for i in declared.items
    ] == [
        ("TSHIRT", "610910", "PT", Decimal("498.00"), 360),
        ("JACKET", "62033100", "LT", Decimal("2499.00"), 1400),
    ]
    assert declared.total_value == Decimal("2997.00")
    assert declared.total_weight_grams == 1760
    assert (declared.incoterms, declared.currency, declared.import_country) == ("DAP", "NOK", "NO")


def test_a_product_without_customs_data_cannot_be_declared_and_is_named() -> None:
    with pytest.raises(MissingCustomsData) as refused:
        declaration(
            shipment_id="O-1-S1",
            order_id="O-1",
            export_country="SE",
            import_country="US",
            lines=[line("TSHIRT", 1, "249.00"), line("MUG", 1, "99.00"), line("GONE", 1, "1")],
            products=PRODUCTS,
            currency="USD",
            incoterms="DDP",
        )
    assert refused.value.skus == ["MUG", "GONE"]
    assert "US" in str(refused.value)
    assert lacking(PRODUCTS, ["TSHIRT", "JACKET"]) == []
