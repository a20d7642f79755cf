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
WIDTH, HEIGHT = 640, 240
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 16, 12, 28


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


def _time_label(moment: datetime, span_seconds: float) -> str:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    if span_seconds > 2 * 86_400:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%H:%M")


def _legend(names: Sequence[str], y: float) -> str:
    parts = []
    x = MARGIN_LEFT
    for index, name in enumerate(names):
        color = PALETTE[index % len(PALETTE)]
        label = escape(name if len(name) <= 40 else name[:39] + "…")
        parts.append(
            f'<rect x="{x}" y="{y - 8}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{y + 1}" class="legend">{label}</text>'
        )
        x += 24 + 7 * min(len(name), 40)
    return "".join(parts)


def line_chart(
    series: Sequence[tuple[str, Sequence[tuple[datetime, float]]]],
    *,
    area: bool = False,
    y_label: str = "",
    legend: bool | None = None,
) -> str:
    """An SVG time chart of ``[(name, [(time, value), ...]), ...]`` (times sorted per series).

    The legend shows when there are several series, or when ``legend`` says so (a split column
    with a single value still names it).
    """
    series = [(name, [(t, v) for t, v in pts if _finite(v)]) for name, pts in series]
    points = [(t, v) for _, pts in series for t, v in pts]
    if not points:
        return ""
    legend_rows = 1 if (len(series) > 1 if legend is None else legend) else 0
    height = HEIGHT + 18 * legend_rows
    times = [t.timestamp() for t, _ in points]
    t0, t1 = min(times), max(times)
    if t1 == t0:
        t0, t1 = t0 - 60, t1 + 60
    values = [float(v) for _, v in points]
    ticks = nice_ticks(min(0.0, min(values)), max(values))
    v0, v1 = ticks[0], ticks[-1]
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def px(ts: float) -> float:
        return MARGIN_LEFT + (ts - t0) / (t1 - t0) * plot_w

    def py(value: float) -> float:
        return MARGIN_TOP + plot_h - (value - v0) / ((v1 - v0) or 1) * plot_h

    out = [
        f'<svg class="chart line-chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(y_label or "time chart")}">'
    ]
    for tick in ticks:
        y = py(tick)
        out.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(format_number(tick))}</text>"
        )
    span = t1 - t0
    for i in range(5):
        ts = t0 + span * i / 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        label = _time_label(datetime.fromtimestamp(ts, UTC), span)
        out.append(
            f'<text class="axis" x="{px(ts):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
            f"{label}</text>"
        )
    out.append(
        f'<line class="axis-line" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
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
    if legend_rows:
        out.append(_legend([name for name, _ in series], HEIGHT + 8))
    out.append("</svg>")
    return "".join(out)


def bar_chart(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> str:
    """Horizontal grouped bars: one group per category, one bar per series."""
    if not categories or not series:
        return ""
    n_series = len(series)
    bar_h = 14
    group_h = bar_h * n_series + 8
    label_w = 170
    legend_rows = 1 if n_series > 1 else 0
    height = MARGIN_TOP + group_h * len(categories) + 24 + 18 * legend_rows
    series = [(name, [v if _finite(v) else None for v in vs]) for name, vs in series]
    values = [float(v) for _, vs in series for v in vs if v is not None]
    ticks = nice_ticks(min(0.0, min(values, default=0.0)), max(values, default=1.0))
    v0, v1 = ticks[0], ticks[-1]
    plot_w = WIDTH - label_w - MARGIN_RIGHT - 50

    def px(value: float) -> float:
        return label_w + (value - v0) / ((v1 - v0) or 1) * plot_w

    out = [
        f'<svg class="chart bar-chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="bar chart">'
    ]
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
    if legend_rows:
        out.append(_legend([name for name, _ in series], height - 8))
    out.append("</svg>")
    return "".join(out)
