"""The sampling bench measures what it says: every configuration runs, and the keep
configurations keep (or count) what they claim — the numbers in RESULTS.md rest on it."""

from __future__ import annotations

import sys
from pathlib import Path

from llm_insights import _keep
from llm_insights import contract as c

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo's bench/ (not installed)
from support.otel import reset_sdk

from bench import genai_sampling, report, runner


def test_every_configuration_runs_and_the_report_shows_keeping() -> None:
    try:
        results = genai_sampling.run(spans=50, rounds=1)
    finally:
        reset_sdk()
    assert set(results) == set(genai_sampling.CONFIGS)
    assert all(len(v) == 1 and v[0] > 0 for v in results.values())
    assert _keep.on_end is genai_sampling._KEEP_ON_END  # the bench put the decision back
    text = "\n".join(report.genai_sampling_section(runner.Results(genai_sampling=results)))
    assert "100 % failing, cap 30/min" in text and "nothing failing" in text


def test_failing_spans_are_kept_or_counted() -> None:
    """``failing_kept`` re-stamps every span for export; ``failing_capped`` counts past the cap."""
    kept: list[object] = []
    try:
        original = _keep._export
        _keep._export = lambda span, ctx, attrs, kept_for: kept.append(kept_for)
        genai_sampling.measure("failing_kept", 40)
        assert kept == [c.KEPT_FOR_ERROR] * 40
        kept.clear()
        genai_sampling.measure("failing_capped", 40)
        assert len(kept) == c.DEFAULT_KEEP_PER_MINUTE
    finally:
        _keep._export = original
        reset_sdk()
