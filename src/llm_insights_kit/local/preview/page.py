"""Static HTML for a workbook run: one self-contained page per workbook plus an index.

Pages carry their CSS inline and draw charts as inline SVG, so they open offline from disk. Each
panel is an ``<article class="panel" data-panel-state="ok|empty|error">`` (what the browser test
and a reader look for), with the step's source note and its bound KQL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from importlib import resources
from typing import Any

from markdown_it import MarkdownIt

from .charts import FULL_WIDTH, WIDTH, bar_chart, format_number, line_chart
from .run import Group, Markdown, Panel, Parameter, QueryOutcome, WorkbookRun

MAX_TABLE_ROWS = 50
MAX_BARS = 25
MAX_SERIES = 10
LINE_VISUALIZATIONS = frozenset({"timechart", "linechart", "areachart", "scatterchart"})
BAR_VISUALIZATIONS = frozenset({"barchart", "columnchart", "piechart", "categoricalbar"})
TILE_VISUALIZATIONS = frozenset({"tiles", "card"})
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def stylesheet() -> str:
    return resources.files(__package__).joinpath("style.css").read_text(encoding="utf-8")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _cell(value: Any) -> tuple[str, bool]:
    """(display text, is numeric) for one result cell."""
    if value is None:
        return "", False
    if isinstance(value, bool):
        return str(value).lower(), False
    if _is_number(value):
        number = float(value)
        if isinstance(value, int):
            return f"{value:,}", True
        return (format_number(number) if math.isfinite(number) else str(number)), True
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M:%S") + "Z", False
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str), False
    return str(value), False


def _header(column: str) -> str:
    """A column name that may wrap after its underscores (``output_per_input``)."""
    return "_<wbr>".join(escape(part) for part in column.split("_"))


def table_html(outcome: QueryOutcome) -> str:
    head = "".join(f'<th title="{escape(c)}">{_header(c)}</th>' for c in outcome.columns)
    body = []
    for row in outcome.rows[:MAX_TABLE_ROWS]:
        cells = []
        for value in row:
            text, numeric = _cell(value)
            cls = ' class="num"' if numeric else ""
            cells.append(f'<td{cls} title="{escape(text)}">{escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(outcome.rows) > MAX_TABLE_ROWS:
        more = f'<p class="note">First {MAX_TABLE_ROWS} of {len(outcome.rows)} rows.</p>'
    return (
        f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
        f"</table>{more}"
    )


def _column_kinds(outcome: QueryOutcome) -> list[str]:
    """Per column: "time", "number" or "text", from the first non-null value."""
    kinds = []
    for index in range(len(outcome.columns)):
        sample = next((r[index] for r in outcome.rows if r[index] is not None), None)
        if isinstance(sample, datetime):
            kinds.append("time")
        elif _is_number(sample):
            kinds.append("number")
        else:
            kinds.append("text")
    return kinds


def _drawable(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _undrawn_note(values: Iterable[float | None]) -> str:
    infinite = sum(1 for v in values if v is not None and math.isinf(v))
    if not infinite:
        return ""
    return (
        f'<p class="note">{infinite} value(s) are +inf (beyond the last bucket bound) and are not '
        "drawn.</p>"
    )


class ChartError(ValueError):
    """The result's shape cannot be drawn as the step's visualization (a template bug)."""


def timechart_html(
    outcome: QueryOutcome,
    visualization: str,
    time_range: tuple[datetime, datetime] | None = None,
    width: int = WIDTH,
) -> str:
    kinds = _column_kinds(outcome)
    if "time" not in kinds:
        raise ChartError(
            f"{visualization} needs a datetime column; columns are "
            + ", ".join(f"{c} ({k})" for c, k in zip(outcome.columns, kinds, strict=True))
        )
    x = kinds.index("time")
    numbers = [i for i, k in enumerate(kinds) if k == "number"]
    splits = [i for i, k in enumerate(kinds) if k == "text"]
    if not numbers:
        raise ChartError(f"{visualization} needs a numeric column besides {outcome.columns[x]}")
    series: dict[str, list[tuple[datetime, float]]] = {}
    # rows whose split columns are all empty are a series of their own, named for that
    # (failed calls have no response model: they are not "calls")
    unsplit = "no " + " · ".join(outcome.columns[i] for i in splits)
    for row in outcome.rows:
        if row[x] is None:
            continue
        split = " · ".join(str(row[i]) for i in splits if row[i] not in (None, ""))
        if splits and not split:
            split = unsplit
        for i in numbers:
            name = split if split and len(numbers) == 1 else outcome.columns[i]
            if split and len(numbers) > 1:
                name = f"{split} · {outcome.columns[i]}"
            value = row[i]
            series.setdefault(name, []).append((row[x], None if value is None else float(value)))
    ordered = list(series.items())  # column order when there is no split column
    if splits:  # the biggest series first, like the portal's legend
        ordered.sort(key=lambda kv: -sum(abs(v) for _, v in kv[1] if _drawable(v)))
    shown = [(name, sorted(points, key=lambda p: p[0])) for name, points in ordered[:MAX_SERIES]]
    svg = line_chart(
        shown,
        area=visualization == "areachart",
        legend=bool(splits) or None,
        x_range=time_range,
        width=width,
    )
    if not svg:
        raise ChartError("no finite value to draw")
    note = _undrawn_note(point for _, points in shown for _, point in points)
    if len(ordered) > MAX_SERIES:
        note += f'<p class="note">Top {MAX_SERIES} of {len(ordered)} series shown.</p>'
    return svg + note


def barchart_html(outcome: QueryOutcome, visualization: str, width: int = WIDTH) -> str:
    kinds = _column_kinds(outcome)
    numbers = [i for i, k in enumerate(kinds) if k == "number"]
    labels = [i for i, k in enumerate(kinds) if k != "number"]
    if not numbers:
        raise ChartError(f"{visualization} needs a numeric column")
    rows = outcome.rows[:MAX_BARS]
    categories = [
        " · ".join(_cell(row[i])[0] for i in labels) or f"row {n + 1}" for n, row in enumerate(rows)
    ]
    series = [
        (outcome.columns[i], [None if row[i] is None else float(row[i]) for row in rows])
        for i in numbers
    ]
    note = _undrawn_note(v for _, values in series for v in values)
    if len(outcome.rows) > MAX_BARS:
        note += f'<p class="note">First {MAX_BARS} of {len(outcome.rows)} rows.</p>'
    return bar_chart(categories, series, width=width) + note


def tiles_html(outcome: QueryOutcome, content: Mapping[str, Any]) -> str:
    settings = content.get("tileSettings") or {}
    title_col = ((settings.get("titleContent") or {}).get("columnMatch")) or None
    value_col = ((settings.get("leftContent") or {}).get("columnMatch")) or None
    columns = outcome.columns
    tiles: list[tuple[str, str]] = []
    if title_col in columns and value_col in columns:
        ti, vi = columns.index(title_col), columns.index(value_col)
        tiles = [(_cell(r[ti])[0], _cell(r[vi])[0]) for r in outcome.rows]
    elif len(outcome.rows) == 1:
        tiles = [(c, _cell(v)[0]) for c, v in zip(columns, outcome.rows[0], strict=True)]
    else:
        kinds = _column_kinds(outcome)
        label = kinds.index("text") if "text" in kinds else 0
        value = kinds.index("number") if "number" in kinds else len(columns) - 1
        tiles = [(_cell(r[label])[0], _cell(r[value])[0]) for r in outcome.rows]
    cards = "".join(
        f'<div class="tile"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div></div>'
        for label, value in tiles[:MAX_BARS]
    )
    return f'<div class="tiles">{cards}</div>'


def _percent(panel: Panel) -> float | None:
    """The panel's width in percent of the row, as the workbook sets it (None: not set)."""
    if not panel.width:
        return None
    try:
        return max(10.0, min(100.0, float(panel.width)))
    except ValueError:
        return None


def _layout_percent(panel: Panel) -> float:
    """The share of the row the panel asks for: its own width, else the whole row for a wide
    table (a table that wraps its columns on half a row reads worse), else half."""
    percent = _percent(panel)
    if percent is not None:
        return percent
    charted = panel.visualization.lower() in LINE_VISUALIZATIONS | BAR_VISUALIZATIONS
    if panel.outcome.state == "ok" and not charted and len(panel.outcome.columns) > 5:
        return 100.0
    return 50.0


def row_shares(panels: Sequence[Panel]) -> list[float]:
    """Each panel's share of its row once laid out (percent): panels fill rows in order, and
    the room a row leaves is shared by its panels (the grid's ``flex-grow``)."""
    shares: list[float] = []
    row: list[float] = []

    def close() -> None:
        extra = (100.0 - sum(row)) / len(row) if row else 0.0
        shares.extend(p + max(extra, 0.0) for p in row)
        row.clear()

    for panel in panels:
        percent = _layout_percent(panel)
        if row and sum(row) + percent > 100.0:
            close()
        row.append(percent)
    close()
    return shares


def chart_width(share: float) -> int:
    """The chart's drawing width for the panel's share of the row, so its text is drawn at one
    size on every panel (charts are never drawn larger than this)."""
    return max(360, round(FULL_WIDTH * share / 100))


def panel_body(
    panel: Panel, time_range: tuple[datetime, datetime] | None = None, share: float = 50.0
) -> tuple[str, str]:
    """(state, inner HTML) for a panel; a chart that cannot be drawn turns the state to error."""
    outcome = panel.outcome
    if outcome.state == "error":
        return "error", f'<div class="message error">{escape(outcome.error)}</div>'
    if outcome.state == "empty":  # the source note below says where the data would come from
        return "empty", '<div class="message">No data in this time range.</div>'
    visualization = panel.visualization.lower()
    try:
        if visualization in LINE_VISUALIZATIONS:
            return "ok", timechart_html(outcome, visualization, time_range, chart_width(share))
        if visualization in BAR_VISUALIZATIONS:
            return "ok", barchart_html(outcome, visualization, chart_width(share))
        if visualization in TILE_VISUALIZATIONS:
            return "ok", tiles_html(outcome, panel.content)
    except ChartError as exc:
        return "error", (
            f'<div class="message error">Cannot draw step {escape(panel.step)}: '
            f"{escape(str(exc))}</div>{table_html(outcome)}"
        )
    note = ""
    if visualization not in ("table", "grid", ""):
        note = (
            f'<p class="note">Shown as a table (preview does not draw {escape(visualization)}).</p>'
        )
    return "ok", table_html(outcome) + note


def panel_html(
    panel: Panel, time_range: tuple[datetime, datetime] | None = None, share: float = 50.0
) -> str:
    percent = _layout_percent(panel)
    state, body = panel_body(panel, time_range, share)
    panel.outcome.state = state  # a chart error counts as an error in the summary
    width = ""
    if _percent(panel) is not None or percent != 50.0:
        width = f' style="flex-basis:calc({percent:g}% - 12px)"'
    source = f'<p class="note source">Source: {escape(panel.source)}</p>' if panel.source else ""
    rows = len(panel.outcome.rows)
    return (
        f'<article class="panel" id="step-{escape(panel.step)}" data-panel-state="{state}" '
        f'data-step="{escape(panel.step)}" data-visualization="{escape(panel.visualization)}" '
        f'data-rows="{rows}"{width}>'
        f'<h3><span>{escape(panel.title)}</span><span class="badge {state}">{state}</span></h3>'
        f'<div class="body">{body}</div>{source}'
        f'<details><summary>KQL (as run locally)</summary><pre class="kql">'
        f"{escape(panel.outcome.query)}</pre></details></article>"
    )


def _parameters_html(params: Sequence[Parameter]) -> str:
    chips = []
    for p in params:
        choices = ""
        state = ""
        if p.outcome is not None:
            state = f' data-param-state="{p.outcome.state}"'
            if p.outcome.state == "error":
                choices = (
                    f' <span class="choices">(choices failed: {escape(p.outcome.error)})</span>'
                )
            else:
                values = [_cell(r[0])[0] for r in p.outcome.rows[:8] if r]
                extra = " …" if len(p.outcome.rows) > 8 else ""
                listed = ", ".join(values) + extra if values else "no values in range"
                choices = f' <span class="choices">({escape(listed)})</span>'
        chips.append(
            f'<span class="param"{state}><b>{escape(p.label)}:</b> {escape(p.applied)}'
            f"{choices}</span>"
        )
    return f'<div class="params">{"".join(chips)}</div>'


def _items_html(items: Sequence[Any], time_range: tuple[datetime, datetime] | None = None) -> str:
    out: list[str] = []
    panels: list[Panel] = []

    def flush() -> None:
        if panels:
            shares = row_shares(panels)
            html = "".join(
                panel_html(p, time_range, share) for p, share in zip(panels, shares, strict=True)
            )
            out.append(f'<div class="grid">{html}</div>')
            panels.clear()

    for item in items:
        if isinstance(item, Panel):
            panels.append(item)
            continue
        flush()
        if isinstance(item, Markdown):
            out.append(f'<div class="markdown">{_MARKDOWN.render(item.text)}</div>')
        elif isinstance(item, Group):
            out.append(
                f'<section class="group" id="group-{escape(item.step)}">'
                f"<h2>{escape(item.title)}</h2>{_items_html(item.items, time_range)}</section>"
            )
        elif isinstance(item, list):
            out.append(_parameters_html(item))
    flush()
    return "".join(out)


def html_page(title: str, header: str, body: str, *, head: str = "") -> str:
    """A whole page; *head* adds elements to ``<head>`` (the live server's refresh)."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{head}<title>{escape(title)}</title><style>{stylesheet()}</style></head>"
        f"<body><header>{header}</header><main>{body}</main></body></html>\n"
    )


def _summary(counts: Mapping[str, int]) -> str:
    return (
        '<div class="summary">'
        + "".join(
            f'<span data-count="{k}">{counts[k]} {k}</span>' for k in ("ok", "empty", "error")
        )
        + "</div>"
    )


def _range_text(time_range: tuple[datetime, datetime]) -> str:
    start, end = (t.astimezone(UTC) if t.tzinfo else t for t in time_range)
    return f"{start:%Y-%m-%d %H:%M:%S}Z to {end:%Y-%m-%d %H:%M:%S}Z"


def workbook_page(
    run: WorkbookRun, stack: str, store_label: str, *, head: str = "", banner: str = ""
) -> str:
    """The workbook's page; the live server adds *head* (refresh) and *banner* (time ranges)."""
    body = _items_html(run.items, run.time_range)  # first: chart errors update the counts
    header = (
        f'<nav><a href="index.html">← All workbooks</a></nav>{banner}'
        f"<h1>{escape(run.display_name)}</h1>"
        f'<p class="meta">Stack <b>{escape(stack)}</b> · local preview of {escape(store_label)}'
        f" · time range {_range_text(run.time_range)}</p>"
        f'<p class="meta">{escape(run.description)}</p>{_summary(run.counts())}'
    )
    return html_page(f"{run.display_name} — llm-insights preview", header, body, head=head)


def index_page(runs: Sequence[WorkbookRun], stack: str, store_label: str) -> str:
    items = "".join(
        f'<li data-workbook="{escape(r.key)}"><a href="{escape(r.key)}.html">'
        f'{escape(r.display_name)}</a><p class="note">{escape(r.description)}</p>'
        f"{_summary(r.counts())}</li>"
        for r in runs
    )
    header = (
        "<h1>Workbook previews</h1>"
        f'<p class="meta">Stack <b>{escape(stack)}</b> · local store {escape(store_label)}'
        + (f" · time range {_range_text(runs[0].time_range)}" if runs else "")
        + "</p>"
    )
    body = f'<ul class="workbooks">{items}</ul>' if runs else "<p>No workbooks rendered.</p>"
    return html_page("llm-insights workbook previews", header, body)
