"""Which warehouse ships which units of an order: a pure, explainable decision.

Rules, tried in order:

1. ``nearest_complete``: the nearest warehouse that can fill the whole order
   ships it in one parcel.
2. ``split_by_distance`` (Magento MSI distance priority): walk warehouses
   nearest first (those without a known distance last, in the order given)
   and take ``min(max(available, 0), remaining)`` of each SKU from each.
3. Whatever no warehouse has is backordered; when nothing at all is
   available the rule reads ``backorder``.

The store locks stock, feeds this function what it saw, and writes the plan.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from oms.domain.geo import LatLon, haversine_km
from oms.models.common import SkuQuantity
from oms.models.inventory import Candidate

RULE_NEAREST_COMPLETE = "nearest_complete"
RULE_SPLIT_BY_DISTANCE = "split_by_distance"
RULE_BACKORDER = "backorder"
RULE_EMPTY = "empty"


@dataclass(frozen=True)
class Source:
    """A warehouse that may ship: where it is and how many units of each SKU are available."""

    warehouse_id: str
    location: LatLon | None
    available: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SourcePick:
    """Units one warehouse ships (one parcel)."""

    warehouse_id: str
    lines: list[SkuQuantity]


@dataclass(frozen=True)
class AllocationPlan:
    rule: str
    candidates: list[Candidate]
    picks: list[SourcePick]
    backordered: list[SkuQuantity]


def demand(lines: Iterable[SkuQuantity]) -> dict[str, int]:
    """Units wanted per SKU, first-seen order kept; repeated SKUs are summed."""
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
    return wanted


def may_ship_from(
    warehouse_id: str, exclude: Collection[str] | None, only: Collection[str] | None
) -> bool:
    """Whether a re-route's choice lets ``warehouse_id`` ship: it is none of ``exclude`` and,
    when ``only`` names any, one of them. The re-route's allocation applies it, and so does
    every later fill of the backorder that allocation made, so the choice sticks."""
    return warehouse_id not in (exclude or ()) and (not only or warehouse_id in only)


def plan_allocation(
    lines: Iterable[SkuQuantity],
    sources: Iterable[Source],
    destination: LatLon | None,
) -> AllocationPlan:
    """Decide which warehouses ship ``lines`` to ``destination`` (unknown: ``None``)."""
    wanted = demand(lines)
    ranked = _rank(list(sources), destination)
    candidates = [
        Candidate(
            warehouse_id=source.warehouse_id,
            distance_km=None if distance is None else round(distance, 1),
            stock_seen={sku: source.available.get(sku, 0) for sku in wanted},
        )
        for source, distance in ranked
    ]
    if not wanted:
        return AllocationPlan(RULE_EMPTY, candidates, [], [])

    for source, _ in ranked:
        if all(source.available.get(sku, 0) >= qty for sku, qty in wanted.items()):
            pick = SourcePick(source.warehouse_id, _as_lines(wanted))
            return AllocationPlan(RULE_NEAREST_COMPLETE, candidates, [pick], [])

    remaining = dict(wanted)
    picks: list[SourcePick] = []
    for source, _ in ranked:
        taken: dict[str, int] = {}
        for sku, still in remaining.items():
            take = min(max(source.available.get(sku, 0), 0), still)
            if take > 0:
                taken[sku] = take
        for sku, take in taken.items():
            remaining[sku] -= take
        if taken:
            picks.append(SourcePick(source.warehouse_id, _as_lines(taken)))
    backordered = _as_lines({sku: qty for sku, qty in remaining.items() if qty > 0})
    rule = RULE_SPLIT_BY_DISTANCE if picks else RULE_BACKORDER
    return AllocationPlan(rule, candidates, picks, backordered)


def _rank(sources: list[Source], destination: LatLon | None) -> list[tuple[Source, float | None]]:
    """Sources nearest first; those without a distance keep their given order, last."""
    measured: list[tuple[Source, float | None]] = [
        (
            source,
            None
            if destination is None or source.location is None
            else haversine_km(source.location, destination),
        )
        for source in sources
    ]
    # sorted() is stable, so ties and unknown distances keep the caller's priority order.
    return sorted(measured, key=lambda pair: (pair[1] is None, pair[1] or 0.0))


def _as_lines(quantities: Mapping[str, int]) -> list[SkuQuantity]:
    return [SkuQuantity(sku=sku, quantity=qty) for sku, qty in quantities.items()]
