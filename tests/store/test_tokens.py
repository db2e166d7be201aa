"""Stored API tokens: only a digest is kept, a token resolves to its principal until revoked."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from oms.store import tokens
from oms.store.db import Database
from oms.store.errors import UnknownToken
from oms.store.tables import ApiTokenRow


def test_a_created_token_resolves_to_its_role_and_scope_and_only_its_digest_is_stored(
    db: Database,
) -> None:
    with db.session() as session:
        token, info = tokens.create_token(session, "buyer", "karin", "C-7", "ACME-AB")
    assert token.startswith(f"oms_{info.token_id}_")
    secret = token.split("_", 2)[2]
    with db.session() as session:
        row = session.get(ApiTokenRow, info.token_id)
        assert row is not None
        assert row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in {row.token_id, row.subject, row.secret_sha256}
        principal = tokens.resolve(session, token)
    assert principal is not None
    assert (principal.subject, principal.role) == ("karin", "buyer")
    assert (principal.customer_id, principal.company_id) == ("C-7", "ACME-AB")
    assert principal.token_id == info.token_id


def test_a_wrong_secret_a_malformed_token_and_a_revoked_token_resolve_to_nobody(
    db: Database,
) -> None:
    with db.session() as session:
        token, info = tokens.create_token(session, "ops", "olle")
    with db.session() as session:
        assert tokens.resolve(session, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert tokens.resolve(session, "oms_nothing") is None
        assert tokens.resolve(session, "dev-admin") is None
        assert tokens.resolve(session, f"oms_unknown_{token.split('_', 2)[2]}") is None
        assert tokens.revoke(session, info.token_id).revoked_at is not None
    with db.session() as session:
        assert tokens.resolve(session, token) is None
        first = tokens.list_tokens(session)[0].revoked_at
        # Revoking twice keeps the first time.
        assert tokens.revoke(session, info.token_id).revoked_at == first
    with db.session() as session:
        [listed] = tokens.list_tokens(session)
    assert listed.revoked_at == first is not None


def test_unknown_roles_scopeless_buyers_and_unknown_ids_are_refused(db: Database) -> None:
    with db.session() as session:
        with pytest.raises(ValueError, match="unknown role"):
            tokens.create_token(session, "root", "eve")
        with pytest.raises(ValueError, match="customer id or a company"):
            tokens.create_token(session, "buyer", "eve")
        for name in ("", " ", "x" * 101):
            with pytest.raises(ValueError, match="1 to 100 characters"):
                tokens.create_token(session, "ops", name)
        with pytest.raises(UnknownToken):
            tokens.revoke(session, "nope")
        assert session.scalars(select(ApiTokenRow)).all() == []


def test_the_database_refuses_a_role_outside_the_list_and_a_reused_digest(db: Database) -> None:
    with db.session() as session:
        _, info = tokens.create_token(session, "admin", "ada")
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(ApiTokenRow(token_id="x1", secret_sha256="a" * 64, role="root", subject="e"))
    with db.session() as session:
        digest = session.get(ApiTokenRow, info.token_id).secret_sha256  # type: ignore[union-attr]
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(ApiTokenRow(token_id="x2", secret_sha256=digest, role="admin", subject="e"))
