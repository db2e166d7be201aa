"""The report page in a real browser: Debian's Chromium, headless, takes a screenshot of
``/reports`` over 90 days of seeded history, and every chart's series is in the picture."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from temporalio.client import Client

from devtools.demo.history import seed_history
from starters.api.charts import COLOURS

from stack import running_stack

pytestmark = pytest.mark.slow

WIDTH, HEIGHT = 1280, 2000


async def screenshot(url: str, png: Path, profile: Path) -> None:
    """Chromium's own headless screenshot of ``url``; fails (never skips) without Chromium."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: `make chromium` (Debian's chromium package)"
    proc = await asyncio.create_subprocess_exec(
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={WIDTH},{HEIGHT}",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=180)
    assert proc.returncode == 0 and await asyncio.to_thread(png.exists), output.decode(
        errors="replace"
    )[-2000:]


def pixels_near(image: np.ndarray, colour: str, tolerance: int = 40) -> np.ndarray:
    """A mask of the pixels within ``tolerance`` (sum of channel differences) of ``colour``."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=int)
    return np.abs(image.astype(int) - rgb).sum(axis=2) <= tolerance


async def test_report_page_shows_every_chart_in_chromium(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        now = datetime.now(UTC)
        with stack.db.session() as session:
            seeded = seed_history(session, end=now.date(), now=now)
        assert seeded.orders > 1000
        png = tmp_path / "reports.png"
        # The browser signs in with HTTP Basic: any user name, the API token as password.
        anonymous = await stack.as_token(None).get("/reports")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Basic realm=")
        page_url = stack.settings.api_url.replace("http://", "http://ops:dev-ops@")
        await screenshot(f"{page_url}/reports", png, tmp_path / "profile")

    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape[:2] == (HEIGHT, WIDTH)
    counts = {name: int(pixels_near(image, colour).sum()) for name, colour in COLOURS.items()}
    # Ninety days of bars, two bar series per stage, three lines per SKU panel, a bar per SKU.
    # (A full page has about three times these; an empty chart has none.)
    minimum = {
        "orders": 10000,
        "p50": 2000,
        "p90": 3000,
        "actual": 3000,
        "backtest": 500,
        "forecast": 500,
        "cover": 10000,
    }
    assert all(counts[name] >= minimum[name] for name in minimum), counts
    # Charts sit where the page puts them: orders and forecast on the left, lead times and
    # stock cover on the right.
    middle = WIDTH // 2
    for name, left in [("orders", True), ("actual", True), ("p90", False), ("cover", False)]:
        columns = np.nonzero(pixels_near(image, COLOURS[name]))[1]
        share_left = float((columns < middle).mean())
        assert share_left > 0.9 if left else share_left < 0.1, (name, share_left)
