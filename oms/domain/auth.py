"""Who is calling: roles, the principal a bearer token stands for, and what a buyer may see.

Pure rules, no I/O: the API resolves a token to a ``Principal`` (``starters/api/auth.py``)
and asks these functions whether that principal may act on a customer's order,
quote or return. Tokens themselves are kept hashed by ``oms.store.tokens``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Role = Literal[
    "buyer",
    "sales",
    "sales_manager",
    "sales_director",
    "finance",
    "cfo",
    "support",
    "warehouse",
    "ops",
    "admin",
    # The merchant's own systems: webhook endpoints and the events feed.
    "integration",
    # The shop's own backend placing orders: trusted to send its own prices (docs/money.md).
    "channel",
]
ROLES: tuple[str, ...] = get_args(Role)
# A dev token is ``dev-<role>``; ``dev-buyer`` is the README's example customer.
DEV_PREFIX = "dev-"
DEV_BUYER_CUSTOMER = "C-42"
TOKEN_PREFIX = "oms_"
# The OMS's own callers (make run, the bench and the chaos harness provision their stored
# tokens under these subjects): a refusal of theirs stalls orders unseen, so the API keeps
# it for /ops/stuck.
SIMULATOR_SUBJECT = "simulated-warehouse"
OPERATOR_SUBJECT = "make-run-operator"
INTERNAL_CALLERS = frozenset({SIMULATOR_SUBJECT, OPERATOR_SUBJECT})
# The carrier signs each event the Standard Webhooks way (``event_headers``); the library
# refuses a timestamp further than this from now, and the API remembers ids for as long.
EVENT_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Principal:
    """The caller behind a token: a subject (recorded on what they do) and one role.

    A buyer is scoped to one customer id and, for a B2B buyer, optionally a company.
    """

    subject: str
    role: str
    name: str = ""
    customer_id: str | None = None
    company_id: str | None = None
    token_id: str | None = None

    @property
    def is_buyer(self) -> bool:
        return self.role == "buyer"

    def may(self, roles: frozenset[str]) -> bool:
        """Whether this principal may use an endpoint open to ``roles`` (admin may do all)."""
        return self.role == "admin" or self.role in roles


def owns(principal: Principal, customer_id: str, company_id: str | None = None) -> bool:
    """Whether ``principal`` may see or act on something of ``customer_id`` / ``company_id``.

    Staff roles see every customer; a buyer only their own customer id, or their
    company's when the token is scoped to a company.
    """
    if not principal.is_buyer:
        return True
    if principal.customer_id is not None and principal.customer_id == customer_id:
        return True
    return principal.company_id is not None and principal.company_id == company_id


def dev_principal(token: str) -> Principal | None:
    """The principal of a documented dev token (``dev-<role>``, ``dev-buyer-<customer id>``),
    or None when ``token`` is not one."""
    if not token.startswith(DEV_PREFIX):
        return None
    rest = token[len(DEV_PREFIX) :]
    if rest in ROLES and rest != "buyer":
        return Principal(subject=token, role=rest, name=f"dev {rest}")
    if rest == "buyer":
        return Principal(
            subject=token, role="buyer", name="dev buyer", customer_id=DEV_BUYER_CUSTOMER
        )
    customer_id = rest[len("buyer-") :]
    # A customer id is at most 64 characters (the subject is recorded in 100-character fields).
    if rest.startswith("buyer-") and 0 < len(customer_id) <= 64:
        return Principal(subject=token, role="buyer", name="dev buyer", customer_id=customer_id)
    return None


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``secret`` is shown once; only ``digest`` is kept."""

    token_id: str
    secret: str
    digest: str

    @property
    def token(self) -> str:
        return f"{TOKEN_PREFIX}{self.token_id}_{self.secret}"


def issue_token() -> IssuedToken:
    """A random token ``oms_<id>_<secret>``: the id finds the row, the secret proves it."""
    secret = secrets.token_urlsafe(32)
    return IssuedToken(token_id=secrets.token_hex(6), secret=secret, digest=hash_secret(secret))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """``(token_id, secret)`` of an ``oms_<id>_<secret>`` token, or None for another shape."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not sep or not token_id or not secret:
        return None
    return token_id, secret


def secret_matches(secret: str, digest: str) -> bool:
    # Constant time, so response timing does not reveal how much of a guess was right.
    return hmac.compare_digest(hash_secret(secret), digest)


def event_headers(secret: str, body: bytes, message_id: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers a carrier event is sent with: ``webhook-id`` (the same
    on every retry of one event), ``webhook-timestamp`` (seconds) and ``webhook-signature``
    (``v1,<base64 HMAC SHA-256 of "id.timestamp.body">``)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret.encode()).sign(message_id, at, body),
    }


def verified_event_id(secret: str, body: bytes, headers: Mapping[str, str]) -> str | None:
    """The event's ``webhook-id`` when its signature is right for ``body`` and its timestamp
    within ``EVENT_TOLERANCE`` of now (so a captured event cannot be replayed later); else None.
    """
    try:
        Webhook(secret.encode()).verify(body, dict(headers), json_parse=False)
    except WebhookVerificationError:
        return None
    return headers.get("webhook-id")
