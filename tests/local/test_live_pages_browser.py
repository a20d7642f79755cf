"""The live pages of ``llm-insights serve`` read at a glance, checked in headless Chromium.

The README's local section: ``serve`` on a store (here 36 hours of synthetic telemetry ending
now), then the index and each workbook page in a browser, at the shortest and the longest time
range the workbooks offer. Measured in the page as Chromium laid it out (a script appended to
a saved copy of each page, its findings read back from the DOM dump): every chart's x-axis
labels are unique, times within an hour and dates over 30 days; every chart's text renders at
one size whatever the panel's width; no table cell is cut at its edge; a split's empty value is
a series named for it. With ``LLM_INSIGHTS_UPDATE_SCREENSHOTS=1`` the overview at 1 hour and at
30 days is written to ``docs/`` (the pictures the docs show).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.process import wait_for_line

from llm_insights_kit.local.store import LocalStore

from .synthetic import populate
from .test_preview_browser import _chromium
from .test_serve_live import CLI, Served, stop_serve

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
DOCS = Path(__file__).resolve().parents[2] / "docs"
HOUR, MONTH = 3_600_000, 30 * 86_400_000
# What the page looks like to a reader, computed by Chromium's layout (no scripts are served:
# this is added to a saved copy only).
MEASURE = """<script>
const svgs = [...document.querySelectorAll('svg.chart')];
const charts = svgs.map(svg => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const sizes = [...svg.querySelectorAll('text')].map(
    t => parseFloat(getComputedStyle(t).fontSize) * scale);
  return {
    panel: svg.closest('article').dataset.step,
    time: svg.classList.contains('line-chart'),
    ticks: [...svg.querySelectorAll('text.x-tick')].map(t => t.textContent),
    series: [...svg.querySelectorAll('polyline.series')].map(p => p.dataset.series),
    minFont: Math.min(...sizes), maxFont: Math.max(...sizes),
  };
});
const cut = [...document.querySelectorAll('table.data td, table.data th')]
  .filter(c => c.scrollWidth > c.clientWidth + 1)
  .map(c => c.closest('article') ? c.closest('article').dataset.step + ': ' + c.textContent
                                 : c.textContent);
const pre = document.createElement('pre');
pre.id = 'measured';
pre.textContent = JSON.stringify({charts, cut, body: document.body.scrollWidth,
                                  view: window.innerWidth});
document.body.appendChild(pre);
</script>"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    # the README's store path, relative to a directory of the test's own (the pages show it)
    home = tmp_path_factory.mktemp("live")
    db = Path("build/local/telemetry.duckdb")
    (home / db).parent.mkdir(parents=True)
    now = datetime.now(UTC)
    with LocalStore(home / db) as store:
        populate(store, now - timedelta(hours=36), now)
    process = subprocess.Popen(
        [*CLI, "serve", "--db", str(db), "--port", "0", "--quiet", "--refresh", "0"],
        cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    s = Served(process, "", home / db)
    try:
        s = Served(process, wait_for_line(process, r"open (http://\S+)/$").group(1), home / db)
        yield s
    finally:
        stop_serve(s)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=120) as reply:
        assert reply.status == 200
        return reply.read().decode()


def _measure(tmp_path: Path, html: str, name: str) -> dict:
    page = tmp_path / f"{name}.html"
    page.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = _chromium(tmp_path, "--window-size=1280,1000", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stdout[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def _check_page(measured: dict, where: str) -> list[dict]:
    assert measured["cut"] == [], f"{where}: cells cut at their edge: {measured['cut'][:5]}"
    assert measured["body"] <= measured["view"], f"{where}: the page scrolls sideways"
    charts = measured["charts"]
    for chart in charts:
        # one text size on every chart, half or full width: 11 px drawn at 0.8x to 1x
        assert chart["minFont"] >= 8.5 and chart["maxFont"] <= 11.5, (where, chart)
        assert "" not in chart["series"], (where, chart)
    time_charts = [c for c in charts if c["time"]]
    for chart in time_charts:
        ticks = chart["ticks"]
        assert len(ticks) >= 3 and len(set(ticks)) == len(ticks), (where, chart)
    return time_charts


@pytest.mark.slow  # ~40 s: 36 h of telemetry, two ranges of every workbook in Chromium
def test_live_pages_read_at_a_glance(served, tmp_path: Path) -> None:
    index = _get(served.url + "/")
    keys = re.findall(r'<li data-workbook="([^"]+)">', index)
    assert "llm-overview" in keys
    _check_page(_measure(tmp_path, index, "index"), "index")
    for key in keys:
        for range_ms in (HOUR, MONTH):
            html = _get(f"{served.url}/{key}.html?range={range_ms}")
            charts = _check_page(_measure(tmp_path, html, f"{key}-{range_ms}"), key)
            for chart in charts:
                if range_ms == HOUR:  # within an hour: times of day (a date where it turns,
                    # and the date alone at midnight)
                    assert all(
                        re.fullmatch(r"\w{3} \d{2}( \d{2}:\d{2})?|\d{2}:\d{2}", t)
                        for t in chart["ticks"]
                    ), chart
                else:  # thirty days: dates only
                    assert all(re.fullmatch(r"\w{3} \d{2}", t) for t in chart["ticks"]), chart
    if os.environ.get("LLM_INSIGHTS_UPDATE_SCREENSHOTS") == "1":
        for name, range_ms in (("live-overview-1h", HOUR), ("live-overview-30d", MONTH)):
            shot = DOCS / f"{name}.png"
            result = _chromium(
                tmp_path, "--hide-scrollbars", "--window-size=1280,1700", f"--screenshot={shot}",
                f"{served.url}/llm-overview.html?range={range_ms}",
            )  # fmt: skip
            assert result.returncode == 0 and shot.is_file(), result.stderr
