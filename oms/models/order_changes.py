"""Models of changes to a placed order: editing it before the pick, cancelling part of a
line, and short picks.

Kept apart from ``oms.models.orders`` (which imports :class:`LineCancellation` for the
order's view) so each change to an order after it was placed has its own module.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from oms.models.common import Address, Model, Sku, SkuQuantity, check_skus_once
from oms.models.inventory import (
    AllocateRequest,
    AllocationBasis,
    AllocationDecision,
    not_set,
)
from oms.models.money import DestinationPricing, TaxLine


class CancelLineBody(Model):
    """Body of ``POST /orders/{order_id}/lines/{sku}/cancel``: how many units and why (kept
    internal), and what the customer is told."""

    quantity: int = Field(ge=1, le=10_000)
    reason: str = Field(min_length=1, max_length=500)
    # What the customer's email says of why, sent as written (the reason is internal: the
    # order's history, audit and ops alerts). Without it the email gives a buyer's own
    # reason (a buyer asking), else none.
    customer_note: str | None = Field(default=None, min_length=1, max_length=500)


class CancelLine(Model):
    """Input of the order's ``cancel_line`` update: the body, the line's SKU and who asks."""

    sku: Sku
    quantity: int = Field(ge=1, le=10_000)
    reason: str = Field(min_length=1, max_length=500)
    # Filled by the API from the caller's bearer token; a value sent in the body is ignored.
    by: str = Field(default="api", max_length=100)
    # What the customer's email says of why (``oms.domain.order_emails.note_for_customer``:
    # a note the caller chose, or a buyer's own reason); None: nothing (an update from
    # before it too).
    customer_note: str | None = None


class LineCancellation(Model):
    """A cancelled part of a line, as the order keeps it: what, who, why, and where the
    units came from (owed units first, then shipments that had not shipped)."""

    at: datetime
    by: str
    sku: str
    quantity: int
    reason: str
    from_backorder: int = 0
    # Shipment id -> units taken out of it (a shipment left empty was cancelled).
    from_shipments: dict[str, int] = Field(default_factory=dict)
    # What the order's total went down by, and what of the card authorization was released.
    amount: Decimal = Decimal("0.00")
    released: Decimal = Decimal("0.00")
    # Units the customer had already paid for (sent again at no charge after a claim: the
    # claimed parcel's capture paid them) are refunded, not released: how much, the
    # provider's refund id, or why the provider declined it (nothing refunded; operations
    # refund it with ``POST /orders/{id}/refunds``). On invoice terms (the claimed parcel's
    # invoice charged them) they are credited to the company instead: ``refunded`` is what
    # the credit note credits, ``credit_note`` its number (no ``refund_id``), and
    # ``refund_error`` why the ledger refused it.
    refunded: Decimal = Decimal("0.00")
    refund_id: str | None = None
    refund_error: str | None = None
    # Left out of a dump when unset, so a cancellation without one reads as before.
    credit_note: str | None = Field(default=None, exclude_if=lambda v: v is None)


class TrimShipment(Model):
    """Signal from an order to one of its shipments: take ``quantity`` units of ``sku``
    out before it ships; answered by :class:`ShipmentTrimmed` under the same ``key``."""

    key: str
    sku: Sku
    quantity: int = Field(ge=1)
    reason: str = ""
    by: str = ""


class ShipmentTrimmed(Model):
    """Signal from a shipment to its order: a :class:`TrimShipment` was applied, or refused
    because the parcel is already being shipped (its label bought or being bought)."""

    key: str
    shipment_id: str
    accepted: bool
    note: str = ""


class TrimReservation(Model):
    """Keep at most ``keep`` units of ``sku`` for the order: of one shipment's open
    reservations, or (no ``shipment_id``) of what the order is still owed. A target, not a
    delta, so a retry changes nothing more."""

    order_id: str
    sku: Sku
    keep: int = Field(ge=0)
    shipment_id: str | None = None
    # The freed units are not on the shelf (a short pick): they leave stock instead of
    # becoming free for other orders.
    lost: bool = False


class ShortPick(Model):
    """Signal from a shipment to its order: the warehouse picked fewer units than asked;
    ``missing`` is what the parcel will not carry (it ships the rest)."""

    shipment_id: str
    warehouse_id: str
    missing: list[SkuQuantity]
    by: str = ""


class BackorderUnits(Model):
    """Owe ``lines`` to the order again (a short pick's missing units), idempotent on
    ``key``; they keep the order's place in the queue (``placed_at``)."""

    key: str
    order_id: str
    lines: list[SkuQuantity]
    placed_at: datetime
    # Missing from a parcel a claim's reship sent at no charge (the claimed parcel's capture
    # paid them): owed at no charge, shipped in a parcel that captures nothing when filled.
    # Left out of a payload when unset, so a paid short pick's payload is what it always was.
    free: bool = Field(default=False, exclude_if=not_set)


class BackorderResult(Model):
    """Orders whose backorders free stock filled at once (this one included): the
    caller wakes the others and claims its own."""

    filled_orders: list[str] = Field(default_factory=list)


class EditLine(Model):
    """A line's new quantity in an edit (0 takes it off; a SKU not on the order adds it)."""

    sku: Sku
    quantity: int = Field(ge=0, le=10_000)


class EditOrderBody(Model):
    """Body of ``POST /orders/{order_id}/edits``: what changes (at least one) and why (kept
    internal), and what the customer is told."""

    lines: list[EditLine] | None = Field(default=None, min_length=1, max_length=200)
    ship_to: Address | None = None
    shipping_speed: Literal["standard", "express"] | None = None
    reason: str = Field(min_length=1, max_length=500)
    # What the customer's email says of why, sent as written (the reason is internal: the
    # order's history, audit and ops alerts). Without it the email gives a buyer's own
    # reason (a buyer asking), else none.
    customer_note: str | None = Field(default=None, min_length=1, max_length=500)

    @model_validator(mode="after")
    def _changes_something(self) -> EditOrderBody:
        if self.lines is None and self.ship_to is None and self.shipping_speed is None:
            raise ValueError("an edit changes lines, ship_to or shipping_speed")
        check_skus_once("lines", self.lines)
        return self


class EditOrder(Model):
    """Input of the order's ``edit`` update: the body, who asks (the token), and the
    catalogue price of each SKU the edit adds (looked up by the API, never the body)."""

    lines: list[EditLine] = Field(default_factory=list)
    ship_to: Address | None = None
    shipping_speed: Literal["standard", "express"] | None = None
    reason: str = Field(min_length=1, max_length=500)
    prices: dict[str, Decimal] = Field(default_factory=dict)
    by: str = Field(default="api", max_length=100)
    # The VAT rate in percent of each SKU the edit adds, as the order is taxed (looked up
    # by the API with its price; absent for an order placed without totals).
    tax_rates: dict[str, Decimal] = Field(default_factory=dict)
    # Set by the API when the edit moves the order to another country or changes its
    # speed (an order placed with totals): its shipping charge and VAT there. None keeps
    # the order's pricing as placed (an order without totals, or an edit from before).
    pricing: DestinationPricing | None = None
    # What the customer's email says of why, as on :class:`CancelLine`.
    customer_note: str | None = None


class OrderEdit(Model):
    """An edit as the order keeps it: who, why, what changed, and the money it moved."""

    at: datetime
    by: str
    reason: str
    changes: list[str]
    total_before: Decimal
    total_after: Decimal
    # A raised total: the new authorization; a lowered one: what was released.
    authorization_id: str | None = None
    released: Decimal = Decimal("0.00")


class FreezeShipment(Model):
    """Signal from an order to a shipment: hold picks while the order is edited (answered
    by :class:`ShipmentTrimmed`, refused once picked), or (``thaw``) let them go on."""

    key: str
    thaw: bool = False


class Reallocate(AllocationBasis):
    """Give back every open reservation and owed unit of the order and allocate ``lines``
    anew, in one transaction (so no other order takes the freed units in between);
    idempotent on ``key``."""

    first_shipment_no: int

    def as_allocation(self) -> AllocateRequest:
        """The allocation made once the order's stock is given back (same key and lines)."""
        return AllocateRequest(**dict(self))


class Reallocation(Model):
    """The new allocation, and the other orders whose backorders the freed units filled."""

    decision: AllocationDecision
    filled_orders: list[str] = Field(default_factory=list)


ClaimKind = Literal["lost", "damaged"]
ClaimResolution = Literal["reship", "refund"]


class OpenClaimBody(Model):
    """Body of ``POST /shipments/{shipment_id}/claims``: what happened to the parcel and how
    the customer is made whole."""

    kind: ClaimKind
    resolution: ClaimResolution
    reason: str = Field(default="", max_length=500)


class OpenClaim(Model):
    """Input of the order's ``open_claim`` update: the body, the parcel and who asks."""

    shipment_id: str
    kind: ClaimKind
    resolution: ClaimResolution
    reason: str = ""
    by: str = Field(default="api", max_length=100)


class ClaimShipment(Model):
    """Signal from an order to a shipment in transit: a claim settles it; stop following
    tracking (a delivery scan that came first still wins)."""

    kind: ClaimKind
    by: str = ""
    reason: str = ""


class ShipmentClaim(Model):
    """A claim as the order keeps it: the parcel, what happened, who, and the outcome."""

    at: datetime
    by: str
    shipment_id: str
    kind: ClaimKind
    resolution: ClaimResolution
    reason: str = ""
    # A reship: the new shipment(s) of the same lines, at no charge (units no warehouse
    # had are owed).
    reshipped_as: list[str] = Field(default_factory=list)
    # A refund: what the parcel's lines came to, and the provider's refund id.
    refunded: Decimal = Decimal("0.00")
    refund_id: str | None = None
    # Its net and VAT per rate (empty for an order placed without totals).
    refund_tax: list[TaxLine] = Field(default_factory=list)
    # The provider declined the refund (nothing refunded): why. The parcel stays settled by
    # the claim; operations refund it with ``POST /orders/{id}/refunds``.
    refund_error: str | None = None
