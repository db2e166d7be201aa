"""Offline geography for allocation: rough coordinates of a destination and distances.

Good to a few tens of kilometres, which is all distance-priority allocation
needs to rank three warehouses; no network, no files, no I/O.
"""

from __future__ import annotations

import math
import unicodedata

EARTH_RADIUS_KM = 6371.0088

LatLon = tuple[float, float]

# City names (folded: lower case, no diacritics, see ``_fold``) -> coordinates.
CITIES: dict[str, LatLon] = {
    # Sweden
    "stockholm": (59.3293, 18.0686),
    "solna": (59.3600, 18.0009),
    "sundbyberg": (59.3612, 17.9719),
    "nacka": (59.3105, 18.1637),
    "sodertalje": (59.1955, 17.6253),
    "arsta": (59.2988, 18.0504),
    "goteborg": (57.7089, 11.9746),
    "molndal": (57.6554, 12.0138),
    "hisings backa": (57.7468, 11.9873),
    "malmo": (55.6050, 13.0038),
    "lund": (55.7047, 13.1910),
    "helsingborg": (56.0465, 12.6945),
    "uppsala": (59.8586, 17.6389),
    "vasteras": (59.6099, 16.5448),
    "orebro": (59.2753, 15.2134),
    "linkoping": (58.4108, 15.6214),
    "norrkoping": (58.5877, 16.1924),
    "jonkoping": (57.7826, 14.1618),
    "vaxjo": (56.8777, 14.8091),
    "kalmar": (56.6634, 16.3568),
    "karlstad": (59.4022, 13.5115),
    "gavle": (60.6749, 17.1413),
    "falun": (60.6065, 15.6355),
    "sundsvall": (62.3908, 17.3069),
    "ostersund": (63.1792, 14.6357),
    "umea": (63.8258, 20.2630),
    "lulea": (65.5848, 22.1547),
    "kiruna": (67.8558, 20.2253),
    "visby": (57.6348, 18.2948),
    # Norway
    "oslo": (59.9139, 10.7522),
    "bergen": (60.3913, 5.3221),
    "trondheim": (63.4305, 10.3951),
    "stavanger": (58.9700, 5.7331),
    # Denmark
    "copenhagen": (55.6761, 12.5683),
    "aarhus": (56.1629, 10.2039),
    "odense": (55.4038, 10.4024),
    # Finland
    "helsinki": (60.1699, 24.9384),
    "espoo": (60.2055, 24.6559),
    "tampere": (61.4978, 23.7610),
    "turku": (60.4518, 22.2666),
    # Germany
    "berlin": (52.5200, 13.4050),
    "hamburg": (53.5511, 9.9937),
    "munich": (48.1351, 11.5820),
    # Elsewhere the carrier serves
    "paris": (48.8566, 2.3522),
    "amsterdam": (52.3676, 4.9041),
    "london": (51.5072, -0.1276),
    "zurich": (47.3769, 8.5417),
    "new york": (40.7128, -74.0060),
}

# Other names of the cities above (English, local), folded likewise.
CITIES |= {
    alias: CITIES[name]
    for alias, name in {
        "gothenburg": "goteborg",
        "kobenhavn": "copenhagen",
        "arhus": "aarhus",
        "helsingfors": "helsinki",
        "munchen": "munich",
    }.items()
}

# Postcode prefixes per country (at a city above), longest match wins. Swedish postcodes are
# five digits: the first two name a region (1x Stockholm ... 9x Norrbotten).
POSTCODE_PREFIXES: dict[str, dict[str, LatLon]] = {
    "SE": {
        "1": CITIES["stockholm"],
        "15": CITIES["sodertalje"],
        "2": CITIES["malmo"],  # Skåne
        "22": CITIES["lund"],
        "25": CITIES["helsingborg"],
        "3": CITIES["vaxjo"],  # Småland
        "39": CITIES["kalmar"],
        "4": CITIES["goteborg"],
        "5": CITIES["jonkoping"],
        "58": CITIES["linkoping"],
        "60": CITIES["norrkoping"],
        "6": CITIES["karlstad"],  # Värmland
        "62": CITIES["visby"],  # Gotland
        "7": CITIES["vasteras"],
        "70": CITIES["orebro"],
        "75": CITIES["uppsala"],
        "79": CITIES["falun"],  # Dalarna
        "80": CITIES["gavle"],
        "8": CITIES["sundsvall"],
        "83": CITIES["ostersund"],
        "9": CITIES["umea"],
        "97": CITIES["lulea"],
        "98": CITIES["kiruna"],
    },
    "NO": {
        "0": CITIES["oslo"],
        "1": CITIES["oslo"],
        "4": CITIES["stavanger"],
        "5": CITIES["bergen"],
        "7": CITIES["trondheim"],
    },
    "DK": {
        "1": CITIES["copenhagen"],
        "2": CITIES["copenhagen"],
        "5": CITIES["odense"],
        "8": CITIES["aarhus"],
    },
    "FI": {
        "0": CITIES["helsinki"],
        "02": CITIES["espoo"],
        "2": CITIES["turku"],
        "3": CITIES["tampere"],
    },
}

# Rough population centres, for when neither city nor postcode is known.
COUNTRY_CENTROIDS: dict[str, LatLon] = {
    "SE": CITIES["stockholm"],
    "NO": CITIES["oslo"],
    "DK": CITIES["copenhagen"],
    "FI": CITIES["helsinki"],
    "DE": (51.1657, 10.4515),
    "AT": (48.2082, 16.3738),
    "BE": (50.8503, 4.3517),
    "BG": (42.6977, 23.3219),
    "CY": (35.1856, 33.3823),
    "CZ": (50.0755, 14.4378),
    "EE": (59.4370, 24.7536),
    "ES": (40.4168, -3.7038),
    "FR": CITIES["paris"],
    "GR": (37.9838, 23.7275),
    "HR": (45.8150, 15.9819),
    "HU": (47.4979, 19.0402),
    "IE": (53.3498, -6.2603),
    "IT": (41.9028, 12.4964),
    "LT": (54.6872, 25.2797),
    "LU": (49.6116, 6.1319),
    "LV": (56.9496, 24.1052),
    "MT": (35.8989, 14.5146),
    "NL": CITIES["amsterdam"],
    "PL": (52.2297, 21.0122),
    "PT": (38.7223, -9.1393),
    "RO": (44.4268, 26.1025),
    "SI": (46.0569, 14.5058),
    "SK": (48.1486, 17.1077),
    "GB": CITIES["london"],
    "CH": CITIES["zurich"],
    "US": (39.8283, -98.5795),
}


def haversine_km(a: LatLon, b: LatLon) -> float:
    """Great-circle distance between two (lat, lon) points in kilometres."""
    lat1, lon1 = map(math.radians, a)
    lat2, lon2 = map(math.radians, b)
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _fold(text: str) -> str:
    """Lower case, no diacritics, single spaces: "  Malmö " -> "malmo"."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    # Letters NFKD leaves whole.
    plain = plain.replace("ø", "o").replace("æ", "ae").replace("ß", "ss")
    return " ".join(plain.split())


def locate(postal_code: str | None, city: str | None, country: str | None) -> LatLon | None:
    """Best-known coordinates for an address: city, then postcode prefix, then country.

    Returns ``None`` when nothing is known, so callers rank such destinations last.
    """
    return locate_place(postal_code, city, country) or COUNTRY_CENTROIDS.get(
        (country or "").strip().upper()
    )


def locate_place(postal_code: str | None, city: str | None, country: str | None) -> LatLon | None:
    """Coordinates of an address's city, else of its postcode's region; ``None`` when
    neither is known (a country's centre is too rough to place a warehouse by)."""
    if city:
        hit = CITIES.get(_fold(city))
        if hit is not None:
            return hit
    country_code = (country or "").strip().upper()
    digits = "".join(c for c in (postal_code or "") if c.isdigit())
    prefixes = POSTCODE_PREFIXES.get(country_code, {})
    for length in range(min(len(digits), 3), 0, -1):
        hit = prefixes.get(digits[:length])
        if hit is not None:
            return hit
    return None
