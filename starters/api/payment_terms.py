"""Invoice terms are the merchant's: an order on invoice terms is placed on its company's
``payment_terms`` (``PUT /companies/{id}``, negotiated by the seller), never on terms the
buyer picks at checkout or when accepting a quote."""

from __future__ import annotations

from oms.models.credit import PaymentTerms
from oms.store import credit
from starters.api.deps import ApiState, field_error, read_store


async def company_terms(
    state: ApiState, company_id: str, asked: PaymentTerms | None, loc: list[str | int]
) -> PaymentTerms | None:
    """The payment terms an order of ``company_id`` is placed on: the company's (``asked``
    when the store has no such company; the caller refuses that itself).

    Raises ``HTTPException`` 422 naming the field ``loc`` when the body asked for other
    terms than the company's: the buyer cannot choose them, and an order placed on terms
    its invoices would not honour must not be accepted silently.
    """
    company = await read_store(state, lambda session: credit.get_company(session, company_id))
    if company is None:
        return asked
    if asked is not None and asked != company.payment_terms:
        raise field_error(
            loc,
            f"payment terms are the merchant's: company {company_id} buys on "
            f"{company.payment_terms}; leave the field out (or send {company.payment_terms})",
            asked,
        )
    return company.payment_terms
