"""Customers' languages: BCP 47 tags as shops and browsers send them, and the closest
language the OMS writes to customers in.

Pure: no I/O.
"""

from __future__ import annotations

from oms.models.common import normalize_tag

__all__ = ["FALLBACK", "LANGUAGES", "language", "normalize_tag"]

# The languages every customer email exists in; English is the fallback for any other.
LANGUAGES = ("en", "sv", "de")
FALLBACK = "en"


def language(tag: str | None) -> str:
    """The language to write to a customer whose tag is ``tag``: its primary subtag when the
    OMS has it (``sv-FI`` -> ``sv``, ``de-CH`` -> ``de``), else English (``nb-NO`` -> ``en``)."""
    primary = (tag or "").replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else FALLBACK
