"""``GET /reports/subscriptions``: one row a day, as JSON or CSV, for staff only."""

from __future__ import annotations

import httpx

from tests.api.test_api_paging import api

__all__ = ["api"]


async def test_the_subscriptions_report_has_a_row_a_day_as_json_and_csv(
    api: httpx.AsyncClient,
) -> None:
    params = {"from": "2026-03-01", "to": "2026-03-07"}
    answer = await api.get("/reports/subscriptions", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["report"] == "subscriptions" and len(body["rows"]) == 7
    assert set(body["rows"][0]) == {
        "day",
        "active",
        "started",
        "cancelled",
        "renewals",
        "churn_pct",
    }
    csv = await api.get("/reports/subscriptions", params={**params, "format": "csv"})
    assert csv.text.splitlines()[0] == "day,active,started,cancelled,renewals,churn_pct"
    buyer = await api.get("/reports/subscriptions", headers={"Authorization": "Bearer dev-buyer"})
    assert buyer.status_code == 403
