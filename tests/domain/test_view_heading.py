"""The head every workflow's Temporal UI details share: title, stage, party, and since when."""

from __future__ import annotations

from datetime import UTC, datetime

from oms.domain.lifecycle import Step
from oms.views.common import heading, to_the_second, when, with_due

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


def test_details_say_by_when_the_step_is_due_and_what_operations_do_past_it() -> None:
    step = Step(
        "picking",
        "shipment_picking",
        "warehouse",
        action="Ask {waiting_for} about {business_id} ({workflow_id})",
    )
    details = "\n".join([*heading("**Shipment S-1**", step, when(AT)), "- warehouse: WH-STO"])

    shown = with_due(details, step, AT, "shipment-S-1", "warehouse").splitlines()

    assert (
        shown[3]
        == "- due by 2026-12-01 09:05:07 UTC; past it: Ask warehouse about S-1 (shipment-S-1)"
    )
    assert shown[:3] + shown[4:] == details.splitlines()
    assert with_due(details, step, None, "shipment-S-1", "warehouse") == details
    plain = Step("packed", "shipment_packed", "carrier")
    assert with_due(details, plain, AT, "shipment-S-1", "carrier").splitlines()[3] == (
        "- due by 2026-12-01 09:05:07 UTC"
    )
