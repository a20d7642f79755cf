"""Small, dependency-free SVG charts for the static workbook previews (no JavaScript, no CDN).

``line_chart`` draws time series (workbook ``timechart``/``linechart``/``areachart``);
``bar_chart`` draws categories (``barchart``/``columnchart``/``piechart``). Both return an inline
``<svg>`` string sized by its ``viewBox`` so CSS can scale it, with a ``<title>`` on every point or
bar for hover values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

PALETTE: tuple[str, ...] = (
    "#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563",
)  # fmt: skip
WIDTH, HEIGHT = 600, 240  # a half-width panel's chart; a full-width one is FULL_WIDTH wide
FULL_WIDTH = 1200
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 24, 12, 28
LEGEND_ROW = 18


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1-2-5 steps)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0, 1.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [round(math.floor(low / step) * step, 12)]
    while ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks if len(ticks) > 1 else [*ticks, round(ticks[0] + step, 12)]


def _finite(value: float | None) -> bool:
    """Drawable: not None, NaN or ±inf (an open-ended top bucket reads as +inf)."""
    return value is not None and math.isfinite(float(value))


def format_number(value: float) -> str:
    """Compact human number: 1,234 · 12.5 · 0.0123 · 1.2M."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "\u2013"  # en dash
    magnitude = abs(value)
    if magnitude >= 1e6:
        for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M")):
            if magnitude >= div:
                return f"{value / div:.3g}{suffix}"
    if float(value).is_integer():
        return f"{int(value):,}"
    if magnitude >= 100:
        return f"{value:,.1f}"
    if magnitude >= 1:
        return f"{value:.3g}" if magnitude < 10 else f"{value:.4g}"
    return f"{value:.3g}"


# Tick steps a reader counts in (seconds): minutes, hours, days, weeks.
_TIME_STEPS = (
    60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86_400, 172_800, 604_800,
)  # fmt: skip
_DAY = 86_400


def time_ticks(t0: float, t1: float, most: int = 8) -> list[tuple[float, str]]:
    """Ticks for the epoch-second range [t0, t1]: a round step (1 min … 1 week) giving at most
    *most* ticks, aligned to UTC (days at midnight), each label unique and as short as the span
    allows — times of day within a day, dates when the range crosses days."""
    span = max(t1 - t0, 1.0)
    step = next((s for s in _TIME_STEPS if span / s <= most - 1), _TIME_STEPS[-1])
    while span / step > most - 1:
        step *= 2
    first = math.ceil(t0 / step) * step
    ticks = []
    at = first
    while at <= t1 + 1e-6:
        ticks.append(at)
        at += step
    moments = [datetime.fromtimestamp(t, UTC) for t in ticks]
    crosses_days = datetime.fromtimestamp(t0, UTC).date() != datetime.fromtimestamp(t1, UTC).date()
    if step >= _DAY:
        labels = [m.strftime("%b %d") for m in moments]
    elif crosses_days:
        # the first tick and each midnight name the day, the others the time of day
        labels = [
            m.strftime("%b %d")
            if (m.hour, m.minute) == (0, 0)
            else m.strftime("%b %d %H:%M")
            if i == 0
            else m.strftime("%H:%M")
            for i, m in enumerate(moments)
        ]
    else:
        labels = [m.strftime("%H:%M") for m in moments]
    if len(set(labels)) != len(labels):  # never two ticks with one label
        labels = [
            m.strftime("%b %d") if (m.hour, m.minute) == (0, 0) else m.strftime("%b %d %H:%M")
            for m in moments
        ]
    return list(zip(ticks, labels, strict=True))


def _legend_layout(names: Sequence[str], width: int) -> list[list[tuple[int, str, float]]]:
    """Legend entries (index, name, x) in rows that fit *width*."""
    rows: list[list[tuple[int, str, float]]] = [[]]
    x = float(MARGIN_LEFT)
    for index, name in enumerate(names):
        size = 24 + 6.5 * min(len(name), 40)
        if rows[-1] and x + size > width - MARGIN_RIGHT:
            rows.append([])
            x = float(MARGIN_LEFT)
        rows[-1].append((index, name, x))
        x += size
    return rows


def _legend(rows: list[list[tuple[int, str, float]]], y: float) -> str:
    parts = []
    for row_index, row in enumerate(rows):
        row_y = y + row_index * LEGEND_ROW
        for index, name, x in row:
            color = PALETTE[index % len(PALETTE)]
            label = escape(name if len(name) <= 40 else name[:39] + "…")
            parts.append(
                f'<rect x="{x:.0f}" y="{row_y - 8}" width="10" height="10" fill="{color}"/>'
                f'<text x="{x + 14:.0f}" y="{row_y + 1}" class="legend">{label}'
                f"<title>{escape(name)}</title></text>"
            )
    return "".join(parts)


def _svg_open(kind: str, width: int, height: int, label: str) -> str:
    # never drawn larger than its own size: a chart's text stays the page's size on wide panels
    return (
        f'<svg class="chart {kind}" viewBox="0 0 {width} {height}" role="img" '
        f'style="max-width:{width}px" xmlns="http://www.w3.org/2000/svg" '
        f'aria-label="{escape(label)}">'
    )


def line_chart(
    series: Sequence[tuple[str, Sequence[tuple[datetime, float]]]],
    *,
    area: bool = False,
    y_label: str = "",
    legend: bool | None = None,
    x_range: tuple[datetime, datetime] | None = None,
    width: int = WIDTH,
) -> str:
    """An SVG time chart of ``[(name, [(time, value), ...]), ...]`` (times sorted per series).

    The x-axis spans *x_range* (the selected time range) and any point outside it; without one,
    the data. The legend shows when there are several series, or when ``legend`` says so (a
    split column with a single value still names it).
    """
    series = [(name, [(t, v) for t, v in pts if _finite(v)]) for name, pts in series]
    points = [(t, v) for _, pts in series for t, v in pts]
    if not points:
        return ""
    times = [t.timestamp() for t, _ in points]
    t0, t1 = min(times), max(times)
    if x_range is not None:
        t0, t1 = min(t0, x_range[0].timestamp()), max(t1, x_range[1].timestamp())
    if t1 == t0:
        t0, t1 = t0 - 60, t1 + 60
    show_legend = len(series) > 1 if legend is None else legend
    rows = _legend_layout([name for name, _ in series], width) if show_legend else []
    height = HEIGHT + LEGEND_ROW * len(rows)
    values = [float(v) for _, v in points]
    ticks = nice_ticks(min(0.0, min(values)), max(values))
    v0, v1 = ticks[0], ticks[-1]
    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def px(ts: float) -> float:
        return MARGIN_LEFT + (ts - t0) / (t1 - t0) * plot_w

    def py(value: float) -> float:
        return MARGIN_TOP + plot_h - (value - v0) / ((v1 - v0) or 1) * plot_h

    out = [_svg_open("line-chart", width, height, y_label or "time chart")]
    for tick in ticks:
        y = py(tick)
        out.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{width - MARGIN_RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(format_number(tick))}</text>"
        )
    for ts, label in time_ticks(t0, t1):
        x = px(ts)
        anchor = "start" if x - MARGIN_LEFT < 30 else "end" if px(t1) - x < 30 else "middle"
        out.append(
            f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{py(v0):.1f}" '
            f'y2="{py(v0) + 4:.1f}"/>'
            f'<text class="axis x-tick" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
            f"{escape(label)}</text>"
        )
    out.append(
        f'<line class="axis-line" x1="{MARGIN_LEFT}" x2="{width - MARGIN_RIGHT}" '
        f'y1="{py(v0):.1f}" y2="{py(v0):.1f}"/>'
    )
    for index, (name, pts) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        clean = [(t.timestamp(), float(v)) for t, v in pts if v is not None]
        if not clean:
            continue
        path = " ".join(f"{px(ts):.1f},{py(v):.1f}" for ts, v in clean)
        if area:
            base = py(max(v0, 0.0))
            polygon = f"{px(clean[0][0]):.1f},{base:.1f} {path} {px(clean[-1][0]):.1f},{base:.1f}"
            out.append(f'<polygon points="{polygon}" fill="{color}" fill-opacity="0.15"/>')
        out.append(
            f'<polyline class="series" data-series="{escape(name)}" points="{path}" '
            f'fill="none" stroke="{color}" stroke-width="2"/>'
        )
        radius = 2.5 if len(clean) <= 80 else 0
        for ts, v in clean:
            when = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
            out.append(
                f'<circle cx="{px(ts):.1f}" cy="{py(v):.1f}" r="{radius}" fill="{color}">'
                f"<title>{escape(name)} {when}Z: {escape(format_number(v))}</title></circle>"
            )
    if rows:
        out.append(_legend(rows, HEIGHT + 8))
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    width: int = WIDTH,
) -> str:
    """Horizontal grouped bars: one group per category, one bar per series."""
    if not categories or not series:
        return ""
    n_series = len(series)
    bar_h = 14
    group_h = bar_h * n_series + 8
    label_w = 170
    rows = _legend_layout([name for name, _ in series], width) if n_series > 1 else []
    height = MARGIN_TOP + group_h * len(categories) + 24 + LEGEND_ROW * len(rows)
    series = [(name, [v if _finite(v) else None for v in vs]) for name, vs in series]
    values = [float(v) for _, vs in series for v in vs if v is not None]
    ticks = nice_ticks(min(0.0, min(values, default=0.0)), max(values, default=1.0))
    v0, v1 = ticks[0], ticks[-1]
    plot_w = width - label_w - MARGIN_RIGHT - 50

    def px(value: float) -> float:
        return label_w + (value - v0) / ((v1 - v0) or 1) * plot_w

    out = [_svg_open("bar-chart", width, height, "bar chart")]
    bottom = MARGIN_TOP + group_h * len(categories)
    for tick in ticks:
        x = px(tick)
        out.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{MARGIN_TOP}" y2="{bottom}"/>'
            f'<text class="axis" x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">'
            f"{escape(format_number(tick))}</text>"
        )
    for ci, category in enumerate(categories):
        top = MARGIN_TOP + ci * group_h
        label = category if len(category) <= 26 else category[:25] + "…"
        out.append(
            f'<text class="axis" x="{label_w - 6}" y="{top + group_h / 2 + 2:.1f}" '
            f'text-anchor="end">{escape(label)}<title>{escape(category)}</title></text>'
        )
        for si, (name, vals) in enumerate(series):
            value = vals[ci]
            if value is None:
                continue
            color = PALETTE[si % len(PALETTE)]
            x0, x1 = sorted((px(max(v0, 0.0)), px(float(value))))
            y = top + 4 + si * bar_h
            out.append(
                f'<rect class="bar" x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" '
                f'height="{bar_h - 2}" fill="{color}"><title>{escape(category)} · {escape(name)}'
                f": {escape(format_number(float(value)))}</title></rect>"
                f'<text class="value" x="{x1 + 4:.1f}" y="{y + bar_h - 4}">'
                f"{escape(format_number(float(value)))}</text>"
            )
    if rows:
        out.append(_legend(rows, bottom + 24 + 8))
    out.append("</svg>")
    return "".join(out)
