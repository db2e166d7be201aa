"""Offline geography: distances and where an address roughly is."""

from __future__ import annotations

import pytest

from oms.domain.geo import CITIES, COUNTRY_CENTROIDS, haversine_km, locate, locate_place
from oms.domain.shipping import SERVED

STOCKHOLM = CITIES["stockholm"]
GOTHENBURG = CITIES["goteborg"]
MALMO = CITIES["malmo"]


def test_haversine_matches_known_distances() -> None:
    # Stockholm-Gothenburg is ~398 km and Stockholm-Malmö ~513 km as the crow flies.
    assert haversine_km(STOCKHOLM, GOTHENBURG) == pytest.approx(398, abs=5)
    assert haversine_km(STOCKHOLM, MALMO) == pytest.approx(513, abs=5)
    assert haversine_km(CITIES["oslo"], CITIES["helsinki"]) == pytest.approx(788, abs=8)


def test_haversine_is_symmetric_and_zero_for_the_same_point() -> None:
    assert haversine_km(STOCKHOLM, STOCKHOLM) == 0
    assert haversine_km(STOCKHOLM, MALMO) == pytest.approx(haversine_km(MALMO, STOCKHOLM))


@pytest.mark.parametrize(
    ("city", "expected"),
    [
        ("Göteborg", GOTHENBURG),
        ("Gothenburg", GOTHENBURG),
        ("  MALMÖ ", MALMO),
        ("København", CITIES["copenhagen"]),
        ("Helsinki", CITIES["helsinki"]),
        ("Berlin", CITIES["berlin"]),
    ],
)
def test_city_names_match_regardless_of_case_diacritics_and_spelling(
    city: str, expected: tuple[float, float]
) -> None:
    assert locate("", city, "") == expected


def test_city_wins_over_postcode() -> None:
    # A Gothenburg postcode with the city written as Malmö: the city is more specific.
    assert locate("411 04", "Malmö", "SE") == MALMO


@pytest.mark.parametrize(
    ("postal_code", "expected_city"),
    [
        ("114 55", "stockholm"),
        ("21120", "malmo"),
        ("413 19", "goteborg"),
        ("553 21", "jonkoping"),
        ("652 24", "karlstad"),
        ("753 20", "uppsala"),
        ("722 12", "vasteras"),
        ("852 30", "sundsvall"),
        ("903 26", "umea"),
        ("972 31", "lulea"),
    ],
)
def test_swedish_postcode_prefixes_name_their_region(postal_code: str, expected_city: str) -> None:
    assert locate(postal_code, "Nowhereby", "SE") == CITIES[expected_city]


def test_postcode_prefixes_are_per_country() -> None:
    assert locate("0150", "", "NO") == CITIES["oslo"]
    assert locate("00100", "", "FI") == CITIES["helsinki"]
    assert locate("8000", "", "DK") == CITIES["aarhus"]


def test_unknown_city_and_postcode_fall_back_to_the_country() -> None:
    assert locate("", "Nowhereby", "no") == COUNTRY_CENTROIDS["NO"]


def test_every_country_the_carrier_serves_has_a_centroid() -> None:
    assert set(COUNTRY_CENTROIDS) >= SERVED
    assert locate("12345", "Nowhereby", "US") == COUNTRY_CENTROIDS["US"]
    assert locate("10117", "Berlin", "DE") == CITIES["berlin"]


def test_nothing_known_is_none() -> None:
    assert locate("100-0001", "Nowhereby", "JP") is None
    assert locate(None, None, None) is None


def test_a_place_is_a_city_or_a_postcode_region_never_a_country_s_centre() -> None:
    # What a warehouse without coordinates is placed by: a country's centre is no place.
    assert locate_place("903 26", "Nowhereby", "SE") == CITIES["umea"]
    assert locate_place("", "Malmö", "") == MALMO
    assert locate_place("", "Nowhereby", "NO") is None
    assert locate_place("12345", "Nowhereby", "US") is None
