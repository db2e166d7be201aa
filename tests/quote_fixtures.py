"""Builders for tests of quotes: a B2B quote's view as the workflow keeps it.

Reusable by any test module::

    from quote_fixtures import T0, quote_view
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms.models.common import Address
from oms.models.quotes import (
    ApprovalRequirement,
    B2BCustomer,
    QuoteLineRequest,
    QuoteStatus,
    QuoteView,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def quote_view(
    quote_id: str,
    *,
    version: int = 1,
    status: QuoteStatus = QuoteStatus.SUBMITTED,
    company_id: str = "ACME-AB",
    updated_at: datetime = T0,
    lines: list[QuoteLineRequest] | None = None,
    approvals: list[ApprovalRequirement] | None = None,
) -> QuoteView:
    """A quote submitted at ``T0`` by Acme's buyer (100 black T-shirts unless ``lines``),
    expiring 30 days later."""
    return QuoteView(
        quote_id=quote_id,
        status=status,
        customer=B2BCustomer(
            id=f"C-{company_id}",
            name="Anna Buyer",
            email="anna@example.com",
            company_id=company_id,
        ),
        currency="SEK",
        lines=lines or [QuoteLineRequest(sku="TSHIRT-BLK-M", quantity=100)],
        ship_to=Address(
            name="Acme Bygg AB",
            line1="Byggvägen 1",
            postal_code="111 22",
            city="Stockholm",
            country="SE",
        ),
        submitted_at=T0,
        expires_at=T0 + timedelta(days=30),
        updated_at=updated_at,
        version=version,
        approvals=approvals or [],
    )
