"""Customers' languages: BCP 47 tags accepted as shops send them, emails in the closest
language the OMS has, English otherwise, and never a refused order for a tag."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oms.domain.locales import language, normalize_tag
from oms.models.common import Customer


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("sv", "sv"),
        ("sv-SE", "sv"),
        ("sv-FI", "sv"),
        ("SV-se", "sv"),
        ("en-GB", "en"),
        ("de", "de"),
        ("de-CH", "de"),
        ("nb-NO", "en"),
        ("fr-FR", "en"),
        ("zh-Hant-TW", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_closest_language_the_oms_writes(tag: str | None, expected: str) -> None:
    assert language(tag) == expected


def test_a_posix_locale_becomes_a_tag_and_nonsense_is_refused() -> None:
    assert normalize_tag("sv_SE") == "sv-SE"
    assert normalize_tag(" de-AT ") == "de-AT"
    for bad in ("", "x", "sv--SE", "sv SE", "💥", "a" * 40):
        with pytest.raises(ValueError):
            normalize_tag(bad)


def test_a_customer_keeps_the_tag_the_shop_sent() -> None:
    customer = Customer(id="C-1", name="Eva", email="eva@example.com", locale="nb-NO")
    assert customer.locale == "nb-NO"
    assert Customer(id="C-1", name="Eva", email="eva@example.com").locale == "en"
    with pytest.raises(ValidationError) as refused:
        Customer(id="C-1", name="Eva", email="eva@example.com", locale="Swedish please")
    assert refused.value.errors()[0]["loc"] == ("locale",)
