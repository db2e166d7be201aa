"""The head every workflow's Temporal UI details share: title, stage, party, and since when."""

from __future__ import annotations

from datetime import UTC, datetime

from oms.domain.lifecycle import Step
from oms.views.common import heading, to_the_second, when

AT = datetime(2026, 12, 1, 9, 5, 7, tzinfo=UTC)


def test_a_heading_names_the_stage_and_the_party_waited_for_since_the_given_time() -> None:
    step = Step("picking", "shipment_picking", "warehouse")

    assert heading("**Order o-1** · `picking`", step, when(AT)) == [
        "**Order o-1** · `picking`",
        "",
        "- stage: `shipment_picking`, waiting for **warehouse** since 2026-12-01 09:05 UTC",
    ]


def test_times_show_to_the_minute_or_to_the_second_and_a_missing_one_as_a_dash() -> None:
    assert when(AT) == "2026-12-01 09:05 UTC"
    assert to_the_second(AT) == "2026-12-01 09:05:07 UTC"
    assert when(None) == "-"
