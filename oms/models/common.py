"""Value types shared by every model: money, addresses, customers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Protocol, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
)
from pydantic_core import PydanticCustomError

SUPPORTED_CURRENCIES = frozenset({"SEK", "NOK", "DKK", "EUR", "USD", "GBP"})


# "sv", "sv-SE", "de-AT", "zh-Hant-TW", "en-GB-oxendict": a primary language subtag of 2-3
# letters, then subtags of 1-8 letters or digits (RFC 5646's shape, not its registry).
_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")


def normalize_tag(tag: str) -> str:
    """``tag`` as a BCP 47 tag (``sv_SE`` from a POSIX locale becomes ``sv-SE``).

    Raises ``ValueError`` for a string that is no language tag at all.
    """
    candidate = tag.strip().replace("_", "-")
    if not _TAG.fullmatch(candidate) or len(candidate) > 35:
        raise ValueError(f"not a BCP 47 language tag: {tag!r} (e.g. 'sv-SE', 'en', 'de')")
    return candidate


# A BCP 47 tag as the shop sends it ("sv-SE", "en-GB", "de", "nb-NO"); emails use the closest
# language the OMS has (oms.domain.locales.language), English for any other.
Locale = Annotated[str, AfterValidator(normalize_tag), Field(max_length=35, examples=["sv-SE"])]


def _two_places(value: Decimal) -> Decimal:
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("at most two decimal places")
    return value.quantize(Decimal("0.01"))


def _currency(value: str) -> str:
    if value not in SUPPORTED_CURRENCIES:
        raise ValueError(f"unsupported currency; use one of {sorted(SUPPORTED_CURRENCIES)}")
    return value


def _is_none(value: object) -> bool:
    return value is None


def _opaque_id(value: str) -> str:
    # Customer ids are indexed unencrypted in Temporal (search attribute OmsCustomerId),
    # where no contact data may go: payloads are encrypted, search attributes are not.
    if "@" in value:
        raise ValueError("must be an id, not an email address (it is stored unencrypted)")
    return value


def _encodable(value: str) -> str:
    # JSON may carry a lone UTF-16 surrogate ("\\ud961"); no database column can store it.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode text (lone surrogate)") from None
    return value


Money = Annotated[Decimal, Field(ge=0, max_digits=14), AfterValidator(_two_places)]


def _above_zero(value: Decimal) -> Decimal:
    if not value > 0:
        raise PydanticCustomError("greater_than", "amount must be greater than 0")
    return value


# The ``amount`` of a body that moves money (a refund, a payment received): more than
# nothing, with one message for -10 and 0 alike. ``Money`` with ``gt=0`` said "greater than
# or equal to 0" of -10 (its own ``ge=0`` ran first) and "greater than 0" of 0.
PositiveAmount = Annotated[
    Decimal,
    Field(max_digits=14, json_schema_extra={"exclusiveMinimum": 0}),
    AfterValidator(_above_zero),
    AfterValidator(_two_places),
]
Currency = Annotated[str, AfterValidator(_currency)]
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


def _zoned(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a time zone (e.g. 2026-01-31T08:00:00Z)")
    return value


# A moment a caller gives: with its time zone, or it is no moment (and compares with none).
ZonedDatetime = Annotated[datetime, AfterValidator(_zoned)]
# Free text stored in a column of its own (names, descriptions).
Text = Annotated[str, AfterValidator(_encodable)]


class Model(BaseModel):
    """Base for every model crossing a workflow, activity or API boundary.

    Every text field (and text in a list or mapping field) refuses lone surrogates: a
    422 naming the field at the API, instead of a 500 from the first column or encoder
    that cannot store it.
    """

    model_config = ConfigDict(extra="forbid", frozen=False)

    @field_validator("*", mode="after")
    @classmethod
    def _valid_unicode(cls, value: Any) -> Any:
        """Raises ValueError for a string with a lone surrogate anywhere in the field."""
        _check_text(value)
        return value


def _check_text(value: object) -> None:
    if isinstance(value, str):
        _encodable(value)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)


CustomerId = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_opaque_id)]


class Customer(Model):
    id: CustomerId
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    locale: Locale = "en"
    # A business buyer's VAT number (with its country prefix): with one of a valid format,
    # an EU order from another member state is reverse-charged (docs/money.md).
    vat_number: str | None = Field(default=None, min_length=4, max_length=20)


class Address(Model):
    name: str = Field(min_length=1, max_length=200)
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    postal_code: str = Field(min_length=1, max_length=16)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")
    # State, province or county; required where the destination routes by it (US states,
    # see oms.domain.shipping.address_problems). Left out of a dump when unset, like
    # ``phone``: an address without them serializes as before they existed (the same
    # content hash for a resubmitted order, the same payloads in running workflows).
    region: str | None = Field(default=None, max_length=100, exclude_if=_is_none)
    # The receiver's phone; required for a parcel that goes through customs.
    phone: str | None = Field(default=None, max_length=32, exclude_if=_is_none)


class HistoryEntry(Model):
    """One line of a workflow's history: when, in which status, what happened, and who."""

    at: datetime
    status: str
    note: str = ""
    by: str | None = None
    action: str | None = None


class ByCaller(Model):
    """Base of a request body that records who acts, as ``by``.

    The API fills ``by`` from the caller's bearer token; a value sent in the body is ignored.
    """

    by: str = Field(default="api", min_length=1, max_length=100)


class SkuQuantity(Model):
    sku: Sku
    quantity: int = Field(ge=1)


class _SkuLine(Protocol):
    @property
    def sku(self) -> str: ...


def check_skus_once(field: str, lines: Iterable[_SkuLine] | None) -> None:
    """For a model's validator: each SKU stands at most once in ``lines`` (None: none given).

    Raises ``ValueError`` naming ``field`` (a 422 at the API) when a SKU stands twice.
    """
    skus = [line.sku for line in lines or ()]
    if len(set(skus)) != len(skus):
        raise ValueError(f"{field}: a SKU is named twice")


Item = TypeVar("Item")


class Page(Model, Generic[Item]):
    """One page of a list: its items and the cursor of the next page (``None``: the last).

    Pass ``next_cursor`` back as ``cursor`` (with the same filters) for the next page.
    """

    items: list[Item]
    next_cursor: str | None = None
