"""Pure auth rules: dev tokens, who may act for whom, token shape, webhook signatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms.domain.auth import (
    DEV_BUYER_CUSTOMER,
    ROLES,
    Principal,
    dev_principal,
    event_headers,
    issue_token,
    owns,
    secret_matches,
    split_token,
    verified_event_id,
)


def test_every_role_has_a_dev_token_and_dev_buyer_is_the_readme_customer() -> None:
    for role in ROLES:
        principal = dev_principal(f"dev-{role}")
        assert principal is not None
        assert (principal.role, principal.subject) == (role, f"dev-{role}")
    buyer = dev_principal("dev-buyer")
    assert buyer is not None and buyer.customer_id == DEV_BUYER_CUSTOMER == "C-42"
    other = dev_principal("dev-buyer-C-7")
    assert other is not None and (other.role, other.customer_id) == ("buyer", "C-7")


def test_anything_else_is_not_a_dev_token() -> None:
    too_long = "dev-buyer-" + "C" * 65
    for token in ("dev-root", "dev-", "dev-buyer-", "admin", "oms_abc_def", "DEV-ADMIN", too_long):
        assert dev_principal(token) is None


def test_a_buyer_owns_only_their_customer_or_company_and_staff_see_everyone() -> None:
    buyer = Principal(subject="k", role="buyer", customer_id="C-7")
    company_buyer = Principal(subject="k", role="buyer", company_id="ACME-AB")
    assert owns(buyer, "C-7")
    assert not owns(buyer, "C-8")
    assert not owns(buyer, "C-8", "ACME-AB")
    assert owns(company_buyer, "C-8", "ACME-AB")
    assert not owns(company_buyer, "C-8", "OTHER")
    assert not owns(company_buyer, "C-8")
    for role in ROLES:
        if role != "buyer":
            assert owns(Principal(subject="s", role=role), "C-anyone")


def test_admin_may_use_every_endpoint_and_others_only_theirs() -> None:
    assert Principal(subject="a", role="admin").may(frozenset({"warehouse"}))
    assert Principal(subject="w", role="warehouse").may(frozenset({"warehouse"}))
    assert not Principal(subject="s", role="sales").may(frozenset({"warehouse"}))


def test_issued_tokens_split_back_into_id_and_secret_and_match_only_their_digest() -> None:
    issued = issue_token()
    parts = split_token(issued.token)
    assert parts == (issued.token_id, issued.secret)
    assert secret_matches(issued.secret, issued.digest)
    assert not secret_matches(issued.secret + "x", issued.digest)
    assert issue_token().token != issued.token
    for malformed in ("oms_", "oms_id", "oms__secret", "oms_id_", "abc_def_ghi"):
        assert split_token(malformed) is None


def test_an_event_signature_is_valid_only_for_the_same_secret_bytes_and_a_recent_time() -> None:
    body = b'{"tracking_number":"T1","status":"delivered"}'
    now = datetime.now(UTC)
    headers = event_headers("s3cret", body, "msg-1", now)
    assert headers["webhook-signature"].startswith("v1,")
    assert verified_event_id("s3cret", body, headers) == "msg-1"
    assert verified_event_id("other", body, headers) is None
    assert verified_event_id("s3cret", body + b" ", headers) is None
    assert verified_event_id("s3cret", body, headers | {"webhook-id": "msg-2"}) is None
    assert verified_event_id("s3cret", body, {}) is None
    # A captured event replayed later: its timestamp is signed, so it cannot be refreshed.
    stale = event_headers("s3cret", body, "msg-1", now - timedelta(minutes=6))
    assert verified_event_id("s3cret", body, stale) is None
    ahead = event_headers("s3cret", body, "msg-1", now + timedelta(minutes=6))
    assert verified_event_id("s3cret", body, ahead) is None
    forged_time = headers | {"webhook-timestamp": stale["webhook-timestamp"]}
    assert verified_event_id("s3cret", body, forged_time) is None
