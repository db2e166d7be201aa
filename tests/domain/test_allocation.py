"""Allocation rules: nearest complete warehouse, split by distance, backorder the rest."""

from __future__ import annotations

from oms.domain.allocation import (
    RULE_BACKORDER,
    RULE_NEAREST_COMPLETE,
    RULE_SPLIT_BY_DISTANCE,
    AllocationPlan,
    Source,
    may_ship_from,
    plan_allocation,
)
from oms.domain.geo import CITIES
from oms.models.common import SkuQuantity

STOCKHOLM = CITIES["stockholm"]
GOTHENBURG = CITIES["goteborg"]
MALMO = CITIES["malmo"]


def lines(**quantities: int) -> list[SkuQuantity]:
    return [SkuQuantity(sku=sku, quantity=qty) for sku, qty in quantities.items()]


def picks(plan: AllocationPlan) -> list[tuple[str, dict[str, int]]]:
    return [(p.warehouse_id, {line.sku: line.quantity for line in p.lines}) for p in plan.picks]


def network(sto: dict[str, int], got: dict[str, int], mmo: dict[str, int]) -> list[Source]:
    return [
        Source("WH-GOT", GOTHENBURG, got),
        Source("WH-MMO", MALMO, mmo),
        Source("WH-STO", STOCKHOLM, sto),
    ]


def test_the_nearest_warehouse_that_has_everything_ships_it_all() -> None:
    sources = network({"A": 5, "B": 5}, {"A": 5, "B": 5}, {"A": 5, "B": 5})
    plan = plan_allocation(lines(A=2, B=1), sources, MALMO)
    assert plan.rule == RULE_NEAREST_COMPLETE
    assert picks(plan) == [("WH-MMO", {"A": 2, "B": 1})]
    assert plan.backordered == []


def test_a_complete_warehouse_beats_a_nearer_partial_one() -> None:
    # Stockholm is nearest but lacks B; Gothenburg has both, so one parcel from there.
    sources = network({"A": 5}, {"A": 5, "B": 5}, {"A": 5, "B": 5})
    plan = plan_allocation(lines(A=2, B=1), sources, STOCKHOLM)
    assert plan.rule == RULE_NEAREST_COMPLETE
    assert picks(plan) == [("WH-GOT", {"A": 2, "B": 1})]


def test_no_complete_warehouse_splits_nearest_first() -> None:
    sources = network({"A": 1}, {"A": 5, "B": 1}, {"B": 5})
    plan = plan_allocation(lines(A=3, B=3), sources, STOCKHOLM)
    assert plan.rule == RULE_SPLIT_BY_DISTANCE
    # Stockholm, then Gothenburg (398 km), then Malmö (513 km).
    assert picks(plan) == [("WH-STO", {"A": 1}), ("WH-GOT", {"A": 2, "B": 1}), ("WH-MMO", {"B": 2})]
    assert plan.backordered == []


def test_what_no_warehouse_has_is_backordered() -> None:
    sources = network({"A": 1}, {"A": 1}, {})
    plan = plan_allocation(lines(A=5, B=2), sources, GOTHENBURG)
    assert plan.rule == RULE_SPLIT_BY_DISTANCE
    assert picks(plan) == [("WH-GOT", {"A": 1}), ("WH-STO", {"A": 1})]
    assert plan.backordered == lines(A=3, B=2)


def test_nothing_available_anywhere_backorders_everything() -> None:
    plan = plan_allocation(lines(A=2), network({}, {"A": 0}, {}), STOCKHOLM)
    assert plan.rule == RULE_BACKORDER
    assert plan.picks == []
    assert plan.backordered == lines(A=2)


def test_negative_availability_counts_as_none() -> None:
    # Drift (more reserved than on hand) must not turn into negative picks.
    plan = plan_allocation(lines(A=2), network({"A": -3}, {"A": 1}, {}), STOCKHOLM)
    assert picks(plan) == [("WH-GOT", {"A": 1})]
    assert plan.backordered == lines(A=1)


def test_repeated_skus_are_allocated_as_one_demand() -> None:
    order = [SkuQuantity(sku="A", quantity=2), SkuQuantity(sku="A", quantity=3)]
    plan = plan_allocation(order, network({"A": 4}, {"A": 5}, {}), STOCKHOLM)
    assert plan.rule == RULE_NEAREST_COMPLETE
    assert picks(plan) == [("WH-GOT", {"A": 5})]


def test_unknown_destination_keeps_the_given_priority_order() -> None:
    sources = network({"A": 1}, {"A": 1}, {"A": 1})
    plan = plan_allocation(lines(A=2), sources, None)
    assert picks(plan) == [("WH-GOT", {"A": 1}), ("WH-MMO", {"A": 1})]
    assert all(c.distance_km is None for c in plan.candidates)


def test_warehouses_without_a_location_go_last() -> None:
    sources = [
        Source("WH-NOWHERE", None, {"A": 5}),
        Source("WH-MMO", MALMO, {"A": 5}),
        Source("WH-GOT", GOTHENBURG, {"A": 1}),
    ]
    # Among complete warehouses the located one wins...
    assert picks(plan_allocation(lines(A=3), sources, STOCKHOLM)) == [("WH-MMO", {"A": 3})]
    # ...and in a split the unlocated one is drained last.
    plan = plan_allocation(lines(A=8), sources, STOCKHOLM)
    assert picks(plan) == [("WH-GOT", {"A": 1}), ("WH-MMO", {"A": 5}), ("WH-NOWHERE", {"A": 2})]


def test_candidates_explain_the_decision() -> None:
    sources = network({"A": 1}, {"A": 7, "C": 2}, {})
    plan = plan_allocation(lines(A=2), sources, STOCKHOLM)
    by_id = {c.warehouse_id: c for c in plan.candidates}
    assert [c.warehouse_id for c in plan.candidates] == ["WH-STO", "WH-GOT", "WH-MMO"]
    assert by_id["WH-STO"].distance_km == 0.0
    assert by_id["WH-GOT"].distance_km is not None
    assert 390 < by_id["WH-GOT"].distance_km < 405
    assert by_id["WH-GOT"].distance_km == round(by_id["WH-GOT"].distance_km, 1)
    # Only the SKUs the order asks for, including ones a warehouse does not stock.
    assert by_id["WH-GOT"].stock_seen == {"A": 7}
    assert by_id["WH-MMO"].stock_seen == {"A": 0}


def test_a_reroute_keeps_its_backorder_from_excluded_warehouses_or_to_the_chosen_one() -> None:
    assert [may_ship_from(w, ["WH-STO"], None) for w in ("WH-STO", "WH-GOT")] == [False, True]
    assert [may_ship_from(w, None, ["WH-GOT"]) for w in ("WH-STO", "WH-GOT")] == [False, True]
    assert may_ship_from("WH-STO", None, None) and may_ship_from("WH-STO", [], [])
