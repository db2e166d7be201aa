"""Rate limits on authentication failures and on the carrier webhook (the ``limits`` library).

Two things an anonymous caller can do cost the API work: present tokens (one store read
each) and post carrier events (an HMAC each, then a signal). So:

- **authentication failures** are counted per client address and per presented token
  (``oms_<id>_...`` by its id, so guessing one token's secret from many addresses is one
  count; any other string by its digest). Once either is over its limit, requests that
  present credentials from that address, or that token, are answered 429 *before* the
  credentials are checked, so a guess made meanwhile learns nothing;
- **the carrier webhook** is limited per client address for every request, and a bad
  signature counts as an authentication failure of that address.

A refusal is a 429 problem (``TooManyRequests``) with ``Retry-After`` in seconds. Windows
are moving (``limits``' moving window): a burst cannot straddle two fixed windows. Counts
live in ``OMS_API_RATE_LIMIT_STORAGE`` (``memory://``, per API process; a ``redis://`` URI
shares them between replicas, with the ``redis`` package installed).
"""

from __future__ import annotations

import hashlib
import math
import time

from fastapi import HTTPException, Request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from oms.domain.auth import split_token
from oms.settings import Settings


class TooManyRequests(HTTPException):
    """429 with ``Retry-After``: the caller is over one of the limits."""

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(
            429,
            detail={
                "error": "TooManyRequests",
                "message": f"too many {what}; retry in {retry_after} s",
            },
            headers={"Retry-After": str(retry_after)},
        )


def client_address(request: Request) -> str:
    """The caller's address (uvicorn puts a trusted proxy's ``X-Forwarded-For`` here)."""
    return request.client.host if request.client else "unknown"


def token_key(token: str) -> str:
    """What a presented token is counted under: a stored token's id, else its digest."""
    parts = split_token(token)
    if parts is not None:
        return f"id:{parts[0][:64]}"
    return "sha256:" + hashlib.sha256(token.encode(errors="surrogatepass")).hexdigest()[:32]


class RateLimits:
    """The API's counters. Raises ``ValueError`` for a malformed limit or storage URI."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(
            storage_from_string(settings.api_rate_limit_storage)
        )
        self._per_address = parse(settings.api_auth_failures_per_ip)
        self._per_token = parse(settings.api_auth_failures_per_token)
        self._webhook = parse(settings.carrier_webhook_rate_per_ip)

    def before_auth(self, address: str, token: str | None) -> None:
        """Refuse (429) an address or a token that failed too often; checks, counts nothing."""
        self._refuse_if_spent(self._per_address, "auth-fail-ip", address, what="failed sign-ins")
        if token:
            self._refuse_if_spent(
                self._per_token, "auth-fail-token", token_key(token), what="failed sign-ins"
            )

    def auth_failed(self, address: str, token: str | None) -> None:
        """Count one failed authentication for the address and the token presented."""
        self._limiter.hit(self._per_address, "auth-fail-ip", address)
        if token:
            self._limiter.hit(self._per_token, "auth-fail-token", token_key(token))

    def webhook(self, address: str) -> None:
        """Count one carrier event from ``address``; 429 once it is over its limit."""
        if not self._limiter.hit(self._webhook, "webhook", address):
            raise TooManyRequests(
                "carrier events", self._retry_after(self._webhook, "webhook", address)
            )

    def _refuse_if_spent(self, item: RateLimitItem, *key: str, what: str) -> None:
        if not self._limiter.test(item, *key):
            raise TooManyRequests(what, self._retry_after(item, *key))

    def _retry_after(self, item: RateLimitItem, *key: str) -> int:
        reset = self._limiter.get_window_stats(item, *key).reset_time
        return max(1, math.ceil(reset - time.time()))
