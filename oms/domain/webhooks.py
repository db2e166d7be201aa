"""Webhook endpoints: which URLs may receive events, their secrets, and the retry schedule.

Pure rules, no I/O: the API validates an endpoint's URL with :func:`url_problem`
(the HTTP adapter checks the addresses a name resolves to with :func:`address_forbidden`
before each delivery), and the relay asks :func:`next_attempt` when to try a failed
delivery again, or whether to give up.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"
# Cloud metadata services, by name and by address (AWS, GCP, Azure, OpenStack, Alibaba).
METADATA_HOSTS = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "100.100.100.200"}
)
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("100.100.100.200"),
        ipaddress.ip_address("fd00:ec2::254"),
    }
)


def new_secret() -> str:
    """A fresh endpoint secret, ``whsec_<base64 of 24 random bytes>`` (Standard Webhooks)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def address_forbidden(address: str) -> bool:
    """Whether an IP address must never receive a delivery: link-local (where cloud
    metadata lives), a metadata address, unspecified or multicast."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip in METADATA_ADDRESSES
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
    )


def url_problem(url: str, *, allow_http: bool) -> str | None:
    """Why ``url`` may not be an endpoint, or None when it may.

    https only, unless ``allow_http`` (``OMS_WEBHOOKS_ALLOW_HTTP``, for loopback receivers
    in development); never a link-local or metadata address; no credentials in the URL.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("https", "http"):
        return "the URL must be https"
    if parts.scheme == "http" and not allow_http:
        return "the URL must be https (http only with OMS_WEBHOOKS_ALLOW_HTTP)"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "the URL has no host"
    if parts.username or parts.password:
        return "the URL may not carry credentials"
    if host in METADATA_HOSTS or address_forbidden(_as_resolved(host)):
        return "link-local and metadata addresses never receive events"
    return None


def _as_resolved(host: str) -> str:
    """``host`` as a resolver reads it: an IPv4 address in one of the old numeric forms that
    ``getaddrinfo`` still accepts (``2852039166``, ``0xa9fea9fe``, ``0251.0376.0251.0376``,
    ``169.254.43518``) becomes its dotted quad; anything else is returned as it is.

    ``socket.inet_aton`` parses those forms as the C library does; it does no I/O.
    """
    try:
        return str(ipaddress.IPv4Address(socket.inet_aton(host)))
    except OSError:
        return host


@dataclass(frozen=True)
class RetrySchedule:
    """Exponential backoff per delivery: ``base_s`` x 2^(attempt-1), at most ``max_s``
    apart, until ``give_up_s`` after the first attempt (at least 3 days in production)."""

    base_s: float = 5.0
    max_s: float = 6 * 3600.0
    give_up_s: float = 3 * 24 * 3600.0

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt."""
        return timedelta(seconds=min(self.max_s, self.base_s * 2 ** max(0, attempts - 1)))

    def next_attempt(
        self, attempts: int, first_attempt_at: datetime, now: datetime
    ) -> datetime | None:
        """When to try again after ``attempts`` failures, or None: give up (dead)."""
        if now - first_attempt_at >= timedelta(seconds=self.give_up_s):
            return None
        return now + self.delay(attempts)
