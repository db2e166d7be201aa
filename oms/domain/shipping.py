"""Choosing a carrier rate for a shipment: pure rules, no I/O."""

from __future__ import annotations

from collections.abc import Sequence

from oms.models.carrier import Rate


class NoRateAvailable(Exception):
    """No rate fits the requested shipping speed."""


def choose_rate(rates: Sequence[Rate], speed: str) -> Rate:
    """Return the cheapest rate whose ``speed`` matches ``speed``.

    When express is asked for and no rate is express, the fastest rate is taken
    instead (cheapest among equally fast ones). Ties on price go to the faster
    rate, then to the service name, so the choice is deterministic.

    Raises ``NoRateAvailable`` when nothing fits.
    """
    matching = [rate for rate in rates if rate.speed == speed]
    if matching:
        return min(matching, key=lambda r: (r.price, r.transit_days, r.service))
    if speed == "express" and rates:
        return min(rates, key=lambda r: (r.transit_days, r.price, r.service))
    offered = sorted({rate.speed for rate in rates})
    raise NoRateAvailable(f"no {speed!r} rate among {len(rates)} offered (speeds: {offered})")
