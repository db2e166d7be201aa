"""Customers' languages: BCP 47 tags as shops and browsers send them, and the closest
language the OMS writes to customers in.

Pure: no I/O.
"""

from __future__ import annotations

import re

# The languages every customer email exists in; English is the fallback for any other.
LANGUAGES = ("en", "sv", "de")
FALLBACK = "en"

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


def language(tag: str | None) -> str:
    """The language to write to a customer whose tag is ``tag``: its primary subtag when the
    OMS has it (``sv-FI`` -> ``sv``, ``de-CH`` -> ``de``), else English (``nb-NO`` -> ``en``)."""
    primary = (tag or "").replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else FALLBACK
