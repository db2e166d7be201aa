"""The simulated warehouse packs the way a packer would: parcels the API accepts."""

from __future__ import annotations

from oms.models.shipments import ConfirmPack
from workers.simulator import MAX_PARCEL_GRAMS, packages_for


def test_heavy_shipments_are_split_into_parcels_the_api_accepts() -> None:
    parcels = packages_for(150)  # 75 kg of goods
    assert sum(p["weight_grams"] for p in parcels) == 75_000
    assert all(p["weight_grams"] <= MAX_PARCEL_GRAMS for p in parcels)
    ConfirmPack(packages=parcels)  # type: ignore[arg-type]  # validates like the API does


def test_a_single_unit_is_one_parcel() -> None:
    assert packages_for(1) == [{"weight_grams": 500}]
