"""ISO 3166-1 alpha-2 country codes: an address's country (checked at the API) and the
merchant's (``OMS_MERCHANT_COUNTRY``)."""

from __future__ import annotations

import pycountry

# Read once: pycountry loads its database on first use.
COUNTRIES: frozenset[str] = frozenset(country.alpha_2 for country in pycountry.countries)
