"""Headless Chromium on ``llm-insights serve``'s live pages while an app's calls arrive.

The app (``offline_child.py``: the real SDK, openai client and exporter, exporting every second)
makes a call every 0.3 s; Chromium loads the overview page and the index at intervals and must
see the headline call count rise and the unpriced-model alert go from OK to firing.
"""

from __future__ import annotations

import re
import time

import pytest

from llm_insights_kit import app_env

from .test_preview_browser import _chromium
from .test_serve_live import run_app, start_serve, stop_serve

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def _headline_calls(dom: str) -> int:
    found = re.search(
        r'id="step-headline".*?<tbody><tr><td class="num"[^>]*>([\d,]+)</td>', dom, re.S
    )
    return int(found.group(1).replace(",", "")) if found else 0


def _unpriced_state(dom: str) -> str:
    found = re.search(r'data-rule="llm-unpriced-model" data-alert-state="(\w+)"', dom)
    assert found, dom[:2000]
    return found.group(1)


_CALLS = 300  # 90 s of calls at most; the readings end long before on any machine


@pytest.mark.slow  # ~27 s: headless Chromium while calls arrive
def test_live_pages_move_as_calls_arrive(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(app_env.ENV_OTEL_METRIC_EXPORT_INTERVAL, "1000")
    monkeypatch.setenv(app_env.ENV_OTEL_BSP_SCHEDULE_DELAY, "500")
    served = start_serve(tmp_path / "t.duckdb", "--refresh", "2")
    app = None
    try:
        index = _chromium(tmp_path, "--dump-dom", served.url + "/")
        assert index.returncode == 0, index.stderr
        assert _unpriced_state(index.stdout) == "ok"
        page = served.url + "/llm-overview.html?range=900000"
        # far more calls than the pages need: on a loaded machine Chromium takes seconds per
        # page, and the app must still be calling when the third reading is taken (it is
        # stopped as soon as the readings are in)
        app = run_app(served.url, tmp_path / "a.json", calls=_CALLS, pause=0.3)
        seen: list[int] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and app.poll() is None:
            dom = _chromium(tmp_path, "--dump-dom", page)
            assert dom.returncode == 0, dom.stderr
            assert '<meta http-equiv="refresh" content="2">' in dom.stdout
            seen.append(_headline_calls(dom.stdout))
            if len([n for n in seen if n > 0]) >= 3:
                break
            time.sleep(1)
        print("headline calls seen:", seen)
        moving = [n for n in seen if n > 0]
        assert len(moving) >= 2 and moving == sorted(moving) and moving[-1] > moving[0], seen
        assert moving[-1] < _CALLS, "the app had finished: nothing was seen while calls arrived"
        index = _chromium(tmp_path, "--dump-dom", served.url + "/")
        assert _unpriced_state(index.stdout) == "firing"
    finally:
        if app is not None:
            app.kill()
            app.wait()
        stop_serve(served)
