"""The report page's charts: matplotlib (no GUI backend) drawn to inline SVG on the server.

Text is drawn as paths, so the page needs no font and no script from anywhere.
Every series has a colour of its own (``COLOURS``), which is also how the browser
test recognises that a chart was drawn.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.dates import date2num
from matplotlib.figure import Figure

COLOURS = {
    "orders": "#2b6cb0",
    "p50": "#dd6b20",
    "p90": "#805ad5",
    "actual": "#2f855a",
    "backtest": "#d69e2e",
    "forecast": "#d53f8c",
    "cover": "#319795",
}
SIZE = (6.0, 3.3)  # inches at 100 dpi: 600 x 330 px


def _svg(fig: Figure, salt: str) -> str:
    """The figure as an ``<svg>`` element. Margins are set per chart rather than by
    ``bbox_inches="tight"``, which draws every figure twice."""
    out = io.StringIO()
    # A salt per chart keeps the SVG element ids of several inline charts apart.
    with rc_context({"svg.fonttype": "path", "svg.hashsalt": salt}):
        fig.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg") :]


def _titled(title: str, size: tuple[float, float] = SIZE) -> tuple[Figure, Axes]:
    """A figure of ``size`` inches with one plot, ``title`` at its top left."""
    fig = Figure(figsize=size, dpi=100)
    ax = fig.add_subplot()
    ax.set_title(title, loc="left")
    return fig, ax


def _empty(title: str, salt: str, size: tuple[float, float] = SIZE) -> str:
    """A chart of nothing but its title and "no data in this range"."""
    fig, ax = _titled(title, size)
    ax.text(0.5, 0.5, "no data in this range", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return _svg(fig, salt)


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e2e8f0", linewidth=0.8)
    ax.set_axisbelow(True)


def orders_per_day(days: Sequence[date], orders: Sequence[int]) -> str:
    title = "Orders per day"
    if not days:
        return _empty(title, "orders")
    fig, ax = _titled(title)
    ax.bar(date2num(list(days)), list(orders), width=0.8, color=COLOURS["orders"])
    ax.xaxis_date()
    fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.22)
    fig.autofmt_xdate()
    _style(ax)
    return _svg(fig, "orders")


def lead_times(stages: Sequence[str], p50: Sequence[float], p90: Sequence[float]) -> str:
    title = "Hours from received to each stage"
    if not stages:
        return _empty(title, "lead")
    fig, ax = _titled(title)
    x = list(range(len(stages)))
    ax.bar([i - 0.2 for i in x], list(p50), width=0.4, color=COLOURS["p50"], label="p50")
    ax.bar([i + 0.2 for i in x], list(p90), width=0.4, color=COLOURS["p90"], label="p90")
    ax.set_xticks(x, list(stages))
    ax.legend(frameon=False)
    _style(ax)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.12)
    return _svg(fig, "lead")


def forecast_vs_actuals(
    series: Sequence[
        tuple[str, list[date], list[float | None], list[float | None], list[float | None]]
    ],
) -> str:
    """One panel per SKU: actual units per day, the backtest over the last days, the forecast."""
    size = (SIZE[0], 1.4 + 1.5 * max(1, len(series)))
    if not series:
        return _empty("Forecast vs actuals", "forecast", size)
    fig = Figure(figsize=size, dpi=100)
    axes = fig.subplots(len(series), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (sku, days, actual, backtest, forecast) in zip(axes, series, strict=True):
        ax.plot(days, actual, color=COLOURS["actual"], linewidth=2.5, label="actual")
        ax.plot(days, backtest, color=COLOURS["backtest"], linewidth=2.5, label="backtest")
        ax.plot(days, forecast, color=COLOURS["forecast"], linewidth=2.5, label="forecast")
        ax.set_title(f"{sku}: units per day", loc="left", fontsize=10)
        _style(ax)
    axes[0].legend(frameon=False, ncols=3, fontsize=8, loc="upper left")
    fig.autofmt_xdate()
    fig.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.12, hspace=0.35)
    return _svg(fig, "forecast")


def stock_cover(skus: Sequence[str], days: Sequence[float]) -> str:
    title = "Stock cover: days of forecast demand on hand"
    if not skus:
        return _empty(title, "cover")
    fig, ax = _titled(title)
    ax.barh(list(skus), list(days), color=COLOURS["cover"])
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=8)
    _style(ax)
    ax.grid(axis="x", color="#e2e8f0", linewidth=0.8)
    fig.subplots_adjust(left=0.22, right=0.98, top=0.9, bottom=0.1)
    return _svg(fig, "cover")
