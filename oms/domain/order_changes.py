"""Pure rules for changing a placed order: an edit's new lines and what it changed, which
units a line cancellation takes, what a short pick lacks, and the order's total after a
change.

:func:`changed_total` is the one place a changed order's total is computed, so a merchant's
pricing (price lists, VAT, shipping charges) is plugged in here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from oms.domain.money import order_total
from oms.domain.tax import parcel_charge, refund_tax, retotal
from oms.models.common import Address, SkuQuantity
from oms.models.money import DestinationPricing, OrderTotals, TaxClass, TaxLine
from oms.models.order_changes import EditLine
from oms.models.orders import OrderLine, ShipmentSummary
from oms.models.shipments import ShipmentLine, ShipmentStatus

# A shipment whose units may still be taken out: not shipped, not being shipped as far as
# the order knows (the shipment itself refuses once its label is being bought).
_OPEN = (ShipmentStatus.PICKING.value, ShipmentStatus.HELD.value)


L = TypeVar("L", SkuQuantity, ShipmentLine, OrderLine)


class ChangeRefused(ValueError):
    """A change to an order that cannot be made; ``kind`` is the problem's type."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ShipmentCut:
    """Units of the SKU taken out of one shipment; ``whole`` when nothing is left in it."""

    shipment_id: str
    quantity: int
    keep: int  # units of the SKU the shipment keeps
    whole: bool


@dataclass(frozen=True)
class LineCancelPlan:
    """Where the cancelled units come from: owed units first, then unshipped parcels."""

    sku: str
    quantity: int
    from_backorder: int
    owed_keep: int  # units of the SKU still owed after the cancellation
    cuts: list[ShipmentCut] = field(default_factory=list)


def _units(lines: Iterable[SkuQuantity | OrderLine], sku: str) -> int:
    return sum(ln.quantity for ln in lines if ln.sku == sku)


def plan_line_cancel(
    sku: str,
    quantity: int,
    lines: Sequence[OrderLine],
    backordered: Sequence[SkuQuantity],
    shipments: Sequence[ShipmentSummary],
) -> LineCancelPlan:
    """Which of the order's units of ``sku`` a cancellation of ``quantity`` takes.

    Owed (backordered) units go first, then units in shipments that have not shipped,
    newest shipment first. Raises :class:`ChangeRefused` with kind ``UnknownLine``
    (no such line), ``TooManyUnits`` (more units than the line has),
    ``TooLateToCancelLine`` (fewer units left that have not shipped,
    naming the shipments that did) or ``WholeOrder`` (nothing would be left to ship and
    nothing shipped: cancel the order instead).
    """
    ordered = _units(lines, sku)
    if not ordered:
        raise ChangeRefused("UnknownLine", f"the order has no line of {sku}")
    if quantity > ordered:
        # Not "too late": no moment would ever have allowed it.
        raise ChangeRefused(
            "TooManyUnits", f"the order has {ordered} unit(s) of {sku}, not {quantity}"
        )
    owed = _units(backordered, sku)
    open_ = [s for s in reversed(shipments) if s.status in _OPEN and _units(s.lines, sku)]
    cancellable = owed + sum(_units(s.lines, sku) for s in open_)
    if quantity > cancellable:
        gone = [
            s.shipment_id
            for s in shipments
            if s.status not in _OPEN and s.status != "cancelled" and _units(s.lines, sku)
        ]
        where = f" ({', '.join(gone)} shipped or is being shipped)" if gone else ""
        raise ChangeRefused(
            "TooLateToCancelLine",
            f"only {cancellable} of {ordered} unit(s) of {sku} can still be cancelled{where}",
        )
    active = [s for s in shipments if s.status != "cancelled"]
    left = sum(ln.quantity for s in active for ln in s.lines) + sum(
        ln.quantity for ln in backordered
    )
    if left == quantity and not any(s.status not in _OPEN for s in active):
        raise ChangeRefused(
            "WholeOrder",
            "that would cancel everything the order has left: cancel the order instead "
            "(POST /orders/{id}/cancel)",
        )
    take_owed = min(owed, quantity)
    rest = quantity - take_owed
    cuts: list[ShipmentCut] = []
    for s in open_:
        if rest == 0:
            break
        has = _units(s.lines, sku)
        take = min(has, rest)
        others = sum(ln.quantity for ln in s.lines) - has
        cuts.append(ShipmentCut(s.shipment_id, take, has - take, whole=has == take and not others))
        rest -= take
    return LineCancelPlan(sku, quantity, take_owed, owed - take_owed, cuts)


def cut_lines(lines: Sequence[L], sku: str, quantity: int) -> list[L]:
    """``lines`` (an order's or a shipment's) with ``quantity`` units of ``sku`` fewer; a
    line left at 0 goes."""
    out = []
    for line in lines:
        left = line.quantity - quantity if line.sku == sku else line.quantity
        if left > 0:
            out.append(
                line if left == line.quantity else line.model_copy(update={"quantity": left})
            )
    return out


def check_pick(asked: Sequence[ShipmentLine], picked: Sequence[SkuQuantity]) -> None:
    """Raise ``ValueError`` naming the line when ``picked`` is not a part of ``asked``: a SKU
    the parcel does not hold or named twice, more units than asked, or nothing at all."""
    wanted = {ln.sku: ln.quantity for ln in asked}
    seen: set[str] = set()
    for i, line in enumerate(picked):
        if line.sku not in wanted:
            raise ValueError(f"lines[{i}]: the shipment has no {line.sku}")
        if line.sku in seen:
            raise ValueError(f"lines[{i}]: {line.sku} is named twice")
        if line.quantity > wanted[line.sku]:
            raise ValueError(
                f"lines[{i}]: {line.quantity} {line.sku} picked, only {wanted[line.sku]} asked"
            )
        seen.add(line.sku)
    if not picked:
        raise ValueError("nothing picked: ask operations to re-route or cancel the shipment")


def short_of(asked: Sequence[ShipmentLine], picked: Sequence[SkuQuantity]) -> list[SkuQuantity]:
    """The units of ``asked`` that ``picked`` lacks, in the parcel's line order."""
    got = {ln.sku: ln.quantity for ln in picked}
    return [
        SkuQuantity(sku=ln.sku, quantity=ln.quantity - got.get(ln.sku, 0))
        for ln in asked
        if ln.quantity > got.get(ln.sku, 0)
    ]


def edited_lines(
    current: Sequence[OrderLine],
    edits: Sequence[EditLine],
    prices: Mapping[str, Decimal],
    tax_rates: Mapping[str, Decimal] | None = None,
) -> list[OrderLine]:
    """The order's lines after an edit: each named SKU at its new quantity (0 takes it off),
    a new SKU at its catalogue price from ``prices`` and its VAT rate from ``tax_rates``
    (absent: none, an order placed without totals), the others as they were, in order.

    Raises :class:`ChangeRefused` ``UnknownSku`` for a new SKU without a price and
    ``WholeOrder`` when no line would be left (cancel the order instead).
    """
    wanted = {e.sku: e.quantity for e in edits}
    out: list[OrderLine] = []
    for line in current:
        quantity = wanted.pop(line.sku, line.quantity)
        if quantity:
            out.append(
                line
                if quantity == line.quantity
                else line.model_copy(update={"quantity": quantity})
            )
    for sku, quantity in wanted.items():
        if not quantity:
            continue
        if sku not in prices:
            raise ChangeRefused("UnknownSku", f"no price for {sku}: it is not in the catalogue")
        rate = (tax_rates or {}).get(sku)
        out.append(OrderLine(sku=sku, quantity=quantity, unit_price=prices[sku], tax_rate=rate))
    if not out:
        raise ChangeRefused(
            "WholeOrder", "an edit cannot take every line off: cancel the order instead"
        )
    return out


def edit_change_list(
    before: Sequence[OrderLine],
    after: Sequence[OrderLine],
    ship_to: tuple[Address, Address],
    speed: tuple[str, str],
) -> list[dict[str, str | int]]:
    """What an edit changed, one record each, for the ``order_changed`` email to say in the
    customer's language: ``{"kind": "quantity", "sku", "before", "after"}`` (0 before: added;
    0 after: taken off), ``{"kind": "ship_to", "address"}`` and ``{"kind": "speed",
    "before", "after"}`` (``standard`` or ``express``)."""
    changes: list[dict[str, str | int]] = []
    old = {ln.sku: ln.quantity for ln in before}
    new = {ln.sku: ln.quantity for ln in after}
    for sku in [*old, *(s for s in new if s not in old)]:
        if old.get(sku, 0) != new.get(sku, 0):
            changes.append(
                {
                    "kind": "quantity",
                    "sku": sku,
                    "before": old.get(sku, 0),
                    "after": new.get(sku, 0),
                }
            )
    if ship_to[0] != ship_to[1]:
        to = ship_to[1]
        address = f"{to.name}, {to.line1}, {to.postal_code} {to.city}, {to.country}"
        changes.append({"kind": "ship_to", "address": address})
    if speed[0] != speed[1]:
        changes.append({"kind": "speed", "before": speed[0], "after": speed[1]})
    return changes


def edit_changes(
    before: Sequence[OrderLine],
    after: Sequence[OrderLine],
    ship_to: tuple[Address, Address],
    speed: tuple[str, str],
) -> list[str]:
    """What an edit changed, one English phrase each ("TSHIRT 2 -> 3", "ship to ..."), for
    the order's history (:func:`edit_change_list` has the same, for the customer's email)."""
    return [change_phrase(c) for c in edit_change_list(before, after, ship_to, speed)]


def change_phrase(change: Mapping[str, str | int]) -> str:
    """One record of :func:`edit_change_list` as the history says it, in English."""
    if change["kind"] == "quantity":
        return f"{change['sku']} {change['before']} -> {change['after']}"
    if change["kind"] == "ship_to":
        return f"ship to {change['address']}"
    return f"shipping {change['before']} -> {change['after']}"


def changed_total(lines: Iterable[OrderLine], totals: OrderTotals | None = None) -> Decimal:
    """The order's total for ``lines`` after a change: for an order the OMS priced
    (``totals``), :func:`changed_totals`' total (its lines as charged, VAT added where prices
    exclude it, plus its shipping charge: what its parcels charge); else the sum of the
    lines (an order from before)."""
    if totals is None:
        return order_total(lines)
    return changed_totals(list(lines), totals).total


def changed_totals(lines: Sequence[OrderLine], totals: OrderTotals) -> OrderTotals:
    """The subtotal, shipping, VAT per rate and total of an order the OMS priced
    (``totals``) after a change left it ``lines``: ``oms.domain.tax.retotal``, the
    computation that priced it, at each line's VAT rate."""
    return retotal(totals, lines)


def repriced(
    lines: Sequence[OrderLine],
    totals: OrderTotals,
    pricing: DestinationPricing,
    *,
    invoice: bool,
) -> tuple[list[OrderLine], OrderTotals]:
    """An OMS-priced order's ``lines`` and totals after an edit moved it or changed its
    speed: every line at the new destination's VAT rate for its tax class, the shipping
    charge there, its treatment and whether its prices include VAT (never for an order on
    ``invoice`` terms), computed as ``oms.domain.tax.order_totals`` prices an order placed
    there (the same computation, :func:`oms.domain.tax.retotal`). Its unit prices and
    base-currency rate stay as placed. A SKU's tax class: ``pricing``'s, else as placed,
    else standard."""
    classes = {a.sku: a.tax_class for a in totals.lines} | pricing.tax_classes
    taxed = pricing.treatment == "vat"  # reverse charge and exports: no VAT at any rate

    def rate(tax_class: TaxClass) -> Decimal:
        return pricing.rates[tax_class] if taxed else Decimal(0)

    rated = [
        line.model_copy(update={"tax_rate": rate(classes.get(line.sku, "standard"))})
        for line in lines
    ]
    basis = totals.model_copy(
        update={
            "country": pricing.country,
            "treatment": pricing.treatment,
            "prices_include_tax": pricing.prices_include_tax and not invoice,
            "shipping": pricing.shipping,
            "shipping_rate": rate("standard"),
        }
    )
    return rated, retotal(basis, rated, tax_classes=classes)


def parcel_refund(
    lines: Sequence[OrderLine], totals: OrderTotals | None
) -> tuple[Decimal, list[TaxLine]]:
    """What refunding a parcel's ``lines`` gives back (a claim): what they were charged, VAT
    added where the order's prices exclude it, with its net and VAT per rate; for an order
    placed without totals, the sum of the lines, not split."""
    if totals is None:
        return order_total(lines), []
    currency, inclusive = totals.currency, totals.prices_include_tax
    amount = parcel_charge(lines, currency=currency, prices_include_tax=inclusive)
    charged = [
        TaxLine(
            rate=line.tax_rate or Decimal(0),
            net=parcel_charge([line], currency=currency, prices_include_tax=inclusive),
            tax=Decimal(0),
        )
        for line in lines
    ]
    return amount, refund_tax(amount, charged, currency)
