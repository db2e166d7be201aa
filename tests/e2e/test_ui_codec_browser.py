"""The Temporal Web UI shows an encrypted order readably through the codec server (issue #8).

A real dev server whose UI is pointed at the codec server (``--ui-codec-endpoint``, as in
``make run``), the real OMS, and headless Chromium (the system's ``chromium`` package,
driven by ``playwright``) loading the order's workflow page. The customer's name and email
exist only inside encrypted payloads, so the page shows them only if the browser decoded
them through the codec server.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ui_screenshot import CHROMIUM, CUSTOMER, capture_decoded_order

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]


async def test_ui_shows_the_decoded_order_input(tmp_path: Path) -> None:
    assert shutil.which(CHROMIUM), (
        f"{CHROMIUM} not found: apt-get install chromium (or set OMS_CHROMIUM)"
    )
    text = await capture_decoded_order(tmp_path / "order.png", tmp_path)
    assert CUSTOMER in text
    assert "anna@example.com" in text
    assert (tmp_path / "order.png").stat().st_size > 10_000
