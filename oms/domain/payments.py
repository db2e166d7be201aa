"""Card authorizations age: when an order must authorize its money again before it ships.

A card authorization lapses after the provider's validity (card networks: about 7 days);
a capture on a lapsed one is refused. A parcel captures its share only after it is picked,
packed and labelled, so the order re-authorizes before it starts a paid parcel on an
authorization that would be too old by then.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# How long before the end of its validity an authorization counts as too old to ship on.
# A parcel captures after its pick and pack (the pick SLA is 4 h by default) and its label;
# a day covers that with room for a warehouse's bad day. A short validity (a provider that
# keeps authorizations a few days, or a test) keeps 9/10 of it usable instead of none.
MAX_MARGIN = timedelta(days=1)
MARGIN_SHARE = 10


def reauthorization_margin(valid_s: float) -> timedelta:
    """How long before it lapses an authorization valid ``valid_s`` seconds is renewed: a
    tenth of the validity, at most a day."""
    return min(MAX_MARGIN, timedelta(seconds=valid_s) / MARGIN_SHARE)


def needs_reauthorization(authorized_at: datetime, now: datetime, valid_s: float) -> bool:
    """Whether an authorization made at ``authorized_at`` is too old at ``now`` to start a
    parcel that captures on it: older than its validity less :func:`reauthorization_margin`.

    Raises ``ValueError`` for a validity that is not positive.
    """
    if valid_s <= 0:
        raise ValueError(f"an authorization's validity must be positive, got {valid_s}")
    usable = timedelta(seconds=valid_s) - reauthorization_margin(valid_s)
    return now - authorized_at >= usable
