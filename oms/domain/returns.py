"""Return rules with no I/O: eligibility, automatic authorization, what a receipt refunds.

Eligibility: every line must name a SKU the order delivered, within the return
window (days from that SKU's delivery), of a returnable product, for no more
than delivered minus already returned. Authorization is automatic when the
return is worth less than the merchant's threshold or every line gives an
allow-listed reason; otherwise a person decides.

What a receipt refunds (or replaces): units that came back ``resellable`` or
``damaged`` (the customer sent the product back; damage is the merchant's risk
once authorized), at the unit price the customer paid, never more than the
line asked for. ``wrong_item`` units are not the product sold: they are
neither refunded nor restocked (nor replaced), and go to manual review. An exchange
to other variants sends the variants that stand for the units that came back as the
product (``exchanged_variants``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from oms.domain.money import order_total, quantize
from oms.models.orders import OrderInput, OrderLine, PaymentDetails
from oms.models.returns import (
    VOID_RETURN_STATES,
    Ineligibility,
    ReceivedLine,
    ReturnFacts,
    ReturnInput,
    ReturnLine,
    ReturnLineRequest,
    ReturnPolicy,
    ReturnView,
)

# The notes an exchange to other variants leaves when its price difference moved money on
# the order's card (``workflows/return_exchange.py``); what a return moved is read from them.
CHARGED_DIFFERENCE = "charged the exchange's difference of"
REFUNDED_DIFFERENCE = "refunded the exchange's difference of"


def check_eligibility(
    facts: ReturnFacts,
    lines: Sequence[ReturnLineRequest],
    at: datetime,
    window_days: int,
) -> list[Ineligibility]:
    """Every reason the request cannot be accepted (empty when it can), line by line."""
    if not facts.found:
        return [Ineligibility(code="order_not_found", message=f"order {facts.order_id} not found")]
    known = {line.sku: line for line in facts.lines}
    problems: list[Ineligibility] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if line.sku in seen:
            problems.append(
                _problem("duplicate_line", f"{line.sku} appears twice: put it on one line", i, line)
            )
            continue
        seen.add(line.sku)
        have = known.get(line.sku)
        if have is None:
            problems.append(_problem("not_on_order", f"{line.sku} is not on this order", i, line))
        elif have.delivered <= 0 or have.delivered_at is None:
            problems.append(
                _problem("not_delivered", f"{line.sku} has not been delivered yet", i, line)
            )
        elif not have.returnable:
            problems.append(_problem("not_returnable", f"{line.sku} is not returnable", i, line))
        elif at > have.delivered_at + timedelta(days=window_days):
            closed = have.delivered_at + timedelta(days=window_days)
            problems.append(
                _problem(
                    "window_closed",
                    f"the {window_days}-day return window for {line.sku} closed "
                    f"{closed:%Y-%m-%d} (delivered {have.delivered_at:%Y-%m-%d})",
                    i,
                    line,
                )
            )
        elif line.quantity > have.delivered - have.already_returned:
            left = max(have.delivered - have.already_returned, 0)
            problems.append(
                _problem(
                    "quantity_too_high",
                    f"{line.quantity} x {line.sku} asked, but only {left} can still be returned "
                    f"({have.delivered} delivered, {have.already_returned} already returned)",
                    i,
                    line,
                )
            )
    return problems


def _problem(code: str, message: str, i: int, line: ReturnLineRequest) -> Ineligibility:
    return Ineligibility(code=code, message=message, line=i, sku=line.sku)


def returned_so_far(status: str, line: ReturnLine) -> int:
    """Units of ``line`` a prior return holds back from being returned again.

    A rejected or expired return holds nothing; one whose parcel arrived holds
    what came back as the product (resellable or damaged); one still open
    holds everything it asked for.
    """
    if status in VOID_RETURN_STATES:
        return 0
    if status == "partially_received":
        # Still waiting for the rest: what arrived as the product and what may still come.
        return line.quantity - line.received_wrong_item
    if line.received:
        return line.received_resellable + line.received_damaged
    if status == "closed":
        return 0  # closed with nothing received (e.g. only wrong items are not the product)
    return line.quantity


def authorization_reason(lines: Iterable[ReturnLine], policy: ReturnPolicy) -> str | None:
    """Why the return can be authorized automatically, or ``None`` when a person must decide."""
    lines = list(lines)
    value = return_value(lines)
    if value < policy.auto_authorize_under:
        return f"worth {value}, under the {policy.auto_authorize_under} threshold"
    reasons = {line.reason for line in lines}
    if reasons and reasons <= set(policy.auto_authorize_reasons):
        return f"reason {', '.join(sorted(reasons))} is authorized automatically"
    return None


def return_value(lines: Iterable[ReturnLine]) -> Decimal:
    return quantize(sum((line.unit_price * line.quantity for line in lines), Decimal(0)))


def apply_receipt(lines: list[ReturnLine], received: Iterable[ReceivedLine]) -> list[ReturnLine]:
    """The return's lines with what arrived counted per condition (at most what was asked)."""
    by_sku = {line.sku: line.model_copy() for line in lines}
    for got in received:
        line = by_sku[got.sku]
        room = line.quantity - line.received
        take = min(got.quantity, max(room, 0))
        if got.condition == "resellable":
            line.received_resellable += take
        elif got.condition == "damaged":
            line.received_damaged += take
        else:
            line.received_wrong_item += take
    return [by_sku[line.sku] for line in lines]


def receipt_problems(
    lines: Sequence[ReturnLine],
    received: Sequence[ReceivedLine],
    pending: Iterable[ReceivedLine] = (),
) -> list[str]:
    """Why a receipt does not fit the return (unknown SKUs, more than was asked for).

    A later parcel of a return received in parts counts what earlier parcels brought: the
    new units plus those already received may not exceed what was authorized per line.
    ``pending``: the lines of parcels taken but not inspected yet, counted as received.
    """
    waiting = _per_sku(pending)
    by_sku = {line.sku: line for line in lines}
    problems = [f"{got.sku} is not on this return" for got in received if got.sku not in by_sku]
    for sku, qty in _per_sku(received).items():
        line = by_sku.get(sku)
        had = line.received + waiting.get(sku, 0) if line is not None else 0
        if line is None or had + qty <= line.quantity:
            continue
        if had == 0:
            problems.append(f"{qty} x {sku} received but only {line.quantity} were to be returned")
        else:
            left = max(line.quantity - had, 0)
            problems.append(
                f"{qty} x {sku} received but only {left} of the {line.quantity} authorized "
                f"are still to come ({had} already received)"
            )
    return problems


def _per_sku(received: Iterable[ReceivedLine]) -> Counter[str]:
    """Units received per SKU, over lines that may name a SKU more than once."""
    units: Counter[str] = Counter()
    for got in received:
        units[got.sku] += got.quantity
    return units


def missing_units(lines: Iterable[ReturnLine]) -> dict[str, int]:
    """The units of each line that have not arrived yet (lines complete are left out)."""
    return {ln.sku: ln.quantity - ln.received for ln in lines if ln.quantity > ln.received}


def missing_note(missing: dict[str, int]) -> str:
    """How a return's history and emails name the units that never arrived."""
    return ", ".join(f"{qty} x {sku}" for sku, qty in missing.items())


def receipt_key(rma_id: str, what: str, sku: str, receipt: int, retry: int = 0) -> str:
    """The business key of a receipt's effect on one line (``restock``, ``write_off``,
    ``refund``): ``<rma>:<what>:<sku>`` for the first parcel, as before receipts in parts
    existed (so open returns keep their keys), ``<rma>:<what>:<sku>:r<n>`` for the n-th.

    ``retry``: the n-th retry of a refund the provider declined ends ``:retry-<n>``. A
    declined request is an answer the provider keeps under its key (idempotency keys store
    the first result, a decline included), so asking again on the same key after the
    cause was fixed would only get the same decline back. A decline moved no money, so a
    new key cannot refund twice."""
    key = f"{rma_id}:{what}:{sku}"
    key = key if receipt <= 1 else f"{key}:r{receipt}"
    return key if retry <= 0 else f"{key}:retry-{retry}"


def credited_units(amount: Decimal, unit_price: Decimal) -> int | None:
    """How many units at ``unit_price`` make ``amount`` (what a return's credit note shows
    as its line's quantity); None when it is not a whole number of them (a credit capped,
    or a line without a price)."""
    if unit_price <= 0 or amount <= 0 or amount % unit_price != 0:
        return None
    return int(amount / unit_price)


def refund_due(line: ReturnLine) -> Decimal:
    """What the customer gets back for a received line: paid price x units of the product."""
    return quantize(line.unit_price * (line.received_resellable + line.received_damaged))


def money_moved(view: ReturnView) -> tuple[Decimal, Decimal]:
    """What a return captured and refunded on its order's card: (captured, refunded).

    Its lines' refunds, and an exchange's price difference once its note says it was charged
    (captured) or refunded; a difference that could not be moved moved nothing.
    """
    captured, refunded = Decimal("0.00"), view.refund_total
    difference = view.exchange_difference
    notes = [entry.note for entry in view.history]
    if difference is not None and difference > 0:
        if any(note.startswith(CHARGED_DIFFERENCE) for note in notes):
            captured += difference
    elif difference is not None and any(note.startswith(REFUNDED_DIFFERENCE) for note in notes):
        refunded -= difference
    return captured, refunded


def shortfall_note(worth: Decimal, refunded: Decimal) -> str:
    """The return's history line when the order had less left to refund than it was worth."""
    if refunded <= 0:
        return f"nothing refunded of {worth}: it was already refunded on the order"
    return f"refunded {refunded} of {worth}: the rest was already refunded on the order"


def replacement_units(line: ReturnLine) -> int:
    """Units an exchange sends again: the same as a refund would pay for."""
    return line.received_resellable + line.received_damaged


def all_replaceable(lines: Iterable[ReturnLine]) -> bool:
    """Whether every unit the return asked for came back as the product (none received as
    ``wrong_item``, none missing): an exchange then sends everything it was asked for."""
    return all(replacement_units(ln) >= ln.quantity for ln in lines)


def exchanged_variants(
    lines: Sequence[ReturnLine], exchange_for: Sequence[OrderLine]
) -> list[OrderLine] | None:
    """Which of the other variants an exchange asked for (``exchange_for``, priced) it
    sends for the units that came back as the product (``replacement_units``: resellable or
    damaged; a ``wrong_item`` unit is neither refunded nor replaced, and neither is one
    that never arrived).

    - Every returned unit came back as the product: all of ``exchange_for``, as asked.
    - None did: nothing (an empty list): no replacement, no price difference.
    - Some did, and ``exchange_for`` holds as many units as the return asked for: unit for
      unit, in the order listed. The return's units, line after line in the return's order,
      are paired with ``exchange_for``'s units in its order (the first returned unit with
      the first unit asked for, and so on); the units of one returned line are alike, so
      its replaceable units take its first places. Each replaceable unit's partner is sent.
      Returning 2 x TSHIRT-BLK-M for 2 x TSHIRT-BLK-L, one received as ``wrong_item``, sends
      1 x TSHIRT-BLK-L; returning 1 x A and 1 x B for 1 x A2 and 1 x B2, B received as
      ``wrong_item``, sends 1 x A2.
    - Some did, and ``exchange_for`` holds another number of units: None. There is no
      unit-for-unit match to what came back, so no share of the variants can be told to
      be theirs: the caller refunds the replaceable units instead (as an exchange to other
      variants with units that never arrived does).

    Lines keep their price; lines left with no unit are left out."""
    returned = sum(ln.quantity for ln in lines)
    if all_replaceable(lines):
        return [ln.model_copy() for ln in exchange_for]
    if not any(replacement_units(ln) > 0 for ln in lines):
        return []
    if sum(ln.quantity for ln in exchange_for) != returned:
        return None
    # The places (0-based, over the whole return) of the replaceable units: a range per line.
    replaceable: list[tuple[int, int]] = []
    start = 0
    for ln in lines:
        replaceable.append((start, start + min(replacement_units(ln), ln.quantity)))
        start += ln.quantity
    sent: list[OrderLine] = []
    start = 0
    for ex in exchange_for:
        end = start + ex.quantity
        units = sum(max(0, min(end, hi) - max(start, lo)) for lo, hi in replaceable)
        if units:
            sent.append(ex.model_copy(update={"quantity": units}))
        start = end
    return sent


def exchange_value(view: ReturnView) -> Decimal:
    """What an exchange's replacement sends is worth, sent at no charge: the new variants
    as priced (those it sent, ``exchange_sent``, when fewer than asked for), or the
    received units again at the prices paid for them."""
    if view.exchange_sent:
        return order_total(view.exchange_sent)
    if view.exchange_for:
        return order_total(view.exchange_for)
    return order_total(
        OrderLine(sku=ln.sku, quantity=replacement_units(ln), unit_price=ln.unit_price)
        for ln in view.lines
        if replacement_units(ln) > 0
    )


def replacement_order(
    inp: ReturnInput, order_id: str, lines: list[OrderLine], placed_at: datetime
) -> OrderInput:
    """The order that sends a return's replacement ``lines`` (priced at zero by the caller)
    to the customer: the ``exchange`` channel and payment, so nothing is authorized or
    charged, with the order options the return was started with."""
    return OrderInput(
        order_id=order_id,
        channel="exchange",
        customer=inp.customer,
        currency=inp.currency,
        lines=lines,
        ship_to=inp.ship_to,
        payment=PaymentDetails(method="exchange"),
        placed_at=placed_at,
        options=inp.options.order_options,
        origin="replacement",
    )
