"""API tokens: create (the secret is returned once), resolve, list and revoke.

Only ``sha256(secret)`` is stored, under a unique constraint; a token is
``oms_<token_id>_<secret>``, so resolving is one primary-key read and a
constant-time digest comparison. Revoked tokens keep their row (who had
access, and when it ended). Functions run in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from oms.domain.auth import ROLES, Principal, issue_token, secret_matches, split_token
from oms.store.errors import UnknownToken
from oms.store.tables import ApiTokenRow, utcnow


class TokenInfo(BaseModel):
    """A stored token without its secret (what ``oms token list`` shows)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    token_id: str
    role: str
    subject: str
    customer_id: str | None
    company_id: str | None
    created_at: datetime
    revoked_at: datetime | None


def create_token(
    session: Session,
    role: str,
    subject: str,
    customer_id: str | None = None,
    company_id: str | None = None,
) -> tuple[str, TokenInfo]:
    """Store a new token and return ``(token, info)``; the token is never retrievable again.

    Raises ValueError for an unknown role, a subject that is empty or over 100 characters
    (it is recorded on what the holder does, in fields of that size), or a buyer token
    with no customer or company.
    """
    if not subject.strip() or len(subject) > 100:
        raise ValueError("the token's name must be 1 to 100 characters")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if role == "buyer" and not (customer_id or company_id):
        raise ValueError("a buyer token needs a customer id or a company id")
    issued = issue_token()
    row = ApiTokenRow(
        token_id=issued.token_id,
        secret_sha256=issued.digest,
        role=role,
        subject=subject,
        customer_id=customer_id,
        company_id=company_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return issued.token, _info(row)


def provision(session: Session, role: str, subject: str) -> str:
    """A fresh token for one of the OMS's own callers (the simulated warehouse, the demo),
    created at start-up like a production caller's; the caller's earlier tokens (same
    ``subject`` and role) are revoked, so restarts do not pile up live secrets.

    Raises ValueError as ``create_token`` does.
    """
    earlier = session.scalars(
        select(ApiTokenRow).where(
            ApiTokenRow.subject == subject,
            ApiTokenRow.role == role,
            ApiTokenRow.revoked_at.is_(None),
        )
    ).all()
    for row in earlier:
        row.revoked_at = utcnow()
    token, _ = create_token(session, role, subject)
    return token


def resolve(session: Session, token: str) -> Principal | None:
    """The principal of a live stored token; None when unknown, malformed or revoked."""
    parts = split_token(token)
    if parts is None:
        return None
    token_id, secret = parts
    row = session.get(ApiTokenRow, token_id)
    if row is None or row.revoked_at is not None or not secret_matches(secret, row.secret_sha256):
        return None
    return Principal(
        subject=row.subject,
        role=row.role,
        name=row.subject,
        customer_id=row.customer_id,
        company_id=row.company_id,
        token_id=row.token_id,
    )


def revoke(session: Session, token_id: str) -> TokenInfo:
    """Revoke a token (revoking twice keeps the first time). Raises UnknownToken."""
    row = session.get(ApiTokenRow, token_id)
    if row is None:
        raise UnknownToken(f"no token has id {token_id!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return _info(row)


def list_tokens(session: Session) -> list[TokenInfo]:
    rows = session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.created_at)).all()
    return [_info(row) for row in rows]


def _info(row: ApiTokenRow) -> TokenInfo:
    return TokenInfo.model_validate(row)
