"""Charts a person reads at a glance: the axis spans the selected range, ticks at round steps
with unique labels formatted for the span, one text size per panel width, series named for what
they count."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from llm_insights_kit.local.preview.charts import FULL_WIDTH, WIDTH, line_chart, time_ticks
from llm_insights_kit.local.preview.page import chart_width, row_shares, timechart_html
from llm_insights_kit.local.preview.run import Panel, QueryOutcome

END = datetime(2026, 12, 6, 23, 5, 12, tzinfo=UTC)
SPANS = [timedelta(minutes=m) for m in (5, 15, 30, 60, 240, 720)] + [
    timedelta(days=d) for d in (1, 3, 7, 30)
]


@pytest.mark.parametrize("span", SPANS, ids=str)
@pytest.mark.parametrize(
    "end", [END, END.replace(hour=0, minute=20), END.replace(hour=12, minute=0)]
)
def test_ticks_are_unique_round_and_inside_the_range(span: timedelta, end: datetime) -> None:
    t0, t1 = (end - span).timestamp(), end.timestamp()
    ticks = time_ticks(t0, t1)
    labels = [label for _, label in ticks]
    assert 3 <= len(ticks) <= 8, labels
    assert len(set(labels)) == len(labels), labels  # the repeated "20:44, 20:44" is gone
    assert all(t0 <= at <= t1 for at, _ in ticks)
    steps = {round(b - a) for (a, _), (b, _) in itertools.pairwise(ticks)}
    assert len(steps) == 1  # one round step
    assert ticks[0][0] % min(steps.pop(), 86_400) == 0  # on the step (days at midnight UTC)


def test_labels_are_dates_when_the_range_crosses_days() -> None:
    month = [
        label for _, label in time_ticks((END - timedelta(days=30)).timestamp(), END.timestamp())
    ]
    assert all(re.fullmatch(r"[A-Z][a-z]{2} \d{2}", label) for label in month), month
    hour = [
        label for _, label in time_ticks((END - timedelta(hours=1)).timestamp(), END.timestamp())
    ]
    assert hour == ["22:10", "22:20", "22:30", "22:40", "22:50", "23:00"]
    # a day that turns at midnight says which day
    day = [label for _, label in time_ticks((END - timedelta(days=1)).timestamp(), END.timestamp())]
    assert day[0] == "Dec 06" and "18:00" in day


def _x_of(svg: str, label: str) -> float:
    found = re.search(
        rf'<text class="axis x-tick" x="([\d.]+)"[^>]*>{re.escape(label)}</text>', svg
    )
    assert found, svg[:500]
    return float(found.group(1))


def test_the_axis_spans_the_selected_range_not_the_data() -> None:
    points = [(END - timedelta(minutes=3), 5.0), (END - timedelta(minutes=1), 7.0)]
    selected = (END - timedelta(hours=1), END)
    svg = line_chart([("calls", points)], x_range=selected)
    # 22:10 is 55 minutes before the last point: drawn near the left edge, not off the chart
    plot = WIDTH - 56 - 24
    assert _x_of(svg, "22:10") == pytest.approx(56 + plot * 288 / 3600, abs=1)  # 22:05:12 + 288 s
    circles = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg)]
    assert min(circles) > 56 + plot * 0.9  # the data sits at the right end of the hour
    # without a range the data fills the axis (the static preview of a store's own span)
    assert (
        min(float(x) for x in re.findall(r'<circle cx="([\d.]+)"', line_chart([("c", points)])))
        == 56
    )


def test_chart_width_follows_the_panels_share_of_the_row() -> None:
    def panel(width: str = "", visualization: str = "timechart", columns: int = 2) -> Panel:
        names = [f"c{i}" for i in range(columns)]
        outcome = QueryOutcome("", "ok", names, rows=[tuple([1] * columns)])
        return Panel("s", "t", visualization, "", width, {}, outcome)

    # two halves, then a half alone on its row before a full one (it grows to the whole row)
    assert row_shares([panel(), panel(), panel(), panel("100")]) == [50.0, 50.0, 100.0, 100.0]
    # a 33 % trio shares the row's rest
    assert [round(s, 1) for s in row_shares([panel("33")] * 3)] == [33.3, 33.3, 33.3]
    assert chart_width(100.0) == FULL_WIDTH and chart_width(50.0) == FULL_WIDTH // 2
    # a wide table takes the row of its own
    assert row_shares([panel(visualization="table", columns=8), panel()]) == [100.0, 100.0]
    svg = line_chart([("a", [(END, 1.0)])], width=chart_width(100.0))
    assert f'viewBox="0 0 {FULL_WIDTH} ' in svg and f"max-width:{FULL_WIDTH}px" in svg


def test_an_empty_split_value_is_a_series_named_for_it() -> None:
    """Failed calls have no response model: their series is not "calls"."""
    rows = [
        [END - timedelta(minutes=2), "gpt-4o-2024-08-06", 10],
        [END - timedelta(minutes=2), "", 3],
        [END - timedelta(minutes=1), None, 4],
    ]
    outcome = QueryOutcome("", "ok", ["timestamp", "response_model", "calls"], rows=rows)
    svg = timechart_html(outcome, "timechart", (END - timedelta(hours=1), END))
    names = re.findall(r'data-series="([^"]*)"', svg)
    assert sorted(names) == ["gpt-4o-2024-08-06", "no response_model"]
