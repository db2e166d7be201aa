"""``oms bench search`` on a small store: every search it times finds rows (a figure over
empty pages would say nothing), and the report names each one against the target."""

from __future__ import annotations

from pathlib import Path

from devtools.bench.search import fill, measure, report
from oms.store.db import Database
from oms.store.migrate import upgrade


def test_every_timed_search_finds_orders(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'search.db'}"
    upgrade(url)
    db = Database(url)
    try:
        fill(db, 400)
        figures = measure(db, 400, repeats=2)
    finally:
        db.dispose()
    assert {name: f["rows"] > 0 for name, f in figures.items()} == dict.fromkeys(figures, True)
    assert figures["q = order id"]["rows"] == 1
    assert figures["tracking_number"]["rows"] == 1
    # Through the API the same searches find the same rows.
    assert all(f["http_rows"] == f["rows"] for f in figures.values())
    text = report(400, 1.0, figures, url)
    assert "GET /orders search over 400 orders (SQLite" in text
    assert all(name in text for name in figures)
