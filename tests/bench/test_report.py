"""How the benchmark report reads its numbers: least values paired per round, instruction counts
judged against the best peer, an unmeasured phase said so."""

from __future__ import annotations

from bench import configs, report, runner
from bench.stats import paired, paired_least


def test_paired_least_differences_each_rounds_least_values():
    a = [[5.0, 3.0, 9.0], [4.0, 4.5]]
    b = [[2.0, 2.5], [3.5, 1.0]]
    got = paired_least(a, b)
    assert (got.median, got.low, got.high, got.n) == (2.0, 1.5, 2.5, 2)
    # round 1: min 3 - min 2 = 1; round 2: min 4 - min 1 = 3 -> median 2, quartiles 1.5 / 2.5
    assert paired(a, b).median != got.median  # the medians' difference is another figure


def _instructions(li: float, peer: float) -> runner.Results:
    res = runner.Results()
    for regime in (configs.ALL, configs.DROPPED):
        res.instructions[regime] = {
            configs.BASELINE: 1_000_000.0,
            configs.FLOOR: 1_300_000.0,
            configs.LLM_INSIGHTS: 1_000_000.0 + li,
            configs.OPENAI_V2: 1_000_000.0 + peer,
            configs.GENAI_OPENAI: 1_000_000.0 + peer + 50_000,
        }
    return res


def test_instructions_are_judged_added_over_the_baseline_against_the_best_peer():
    verdicts: list[str] = []
    lines = report.instructions_section(_instructions(400_000, 500_000), runner.Options(), verdicts)
    table = "\n".join(lines)
    assert "| baseline | 1,000,000 (absolute) | 1,000,000 (absolute) |" in table
    assert "| llm_insights | 400,000 | 400,000 |" in table
    assert len(verdicts) == 2 and all("**met**" in v and "`openai_v2`" in v for v in verdicts)
    verdicts = []
    report.instructions_section(_instructions(500_001, 500_000), runner.Options(), verdicts)
    assert all("**MISSED**" in v for v in verdicts)


def test_instructions_not_measured_says_why_and_judges_nothing():
    res = runner.Results(instructions={"error": "valgrind is not installed"})
    verdicts: list[str] = []
    lines = report.instructions_section(res, runner.Options(), verdicts)
    assert "Not measured: valgrind is not installed." in lines and verdicts == []


def test_a_run_without_the_kit_or_a_peer_is_refused_before_it_starts():
    import subprocess
    import sys
    from pathlib import Path

    for chosen in ("llm_insights", "openai_v2,genai_openai"):
        proc = subprocess.run(
            [sys.executable, "-m", "bench", "--quick", "--configs", chosen, "--out", "/dev/null"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert proc.returncode == 2
        assert "--configs: every target compares llm_insights with the best peer" in proc.stderr
        assert "Traceback" not in proc.stderr
