"""``llm-insights demo``: its parts (fast), and the whole run end to end (slow)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llm_insights_kit.artifacts import RenderContext
from llm_insights_kit.demo import kit_parts
from llm_insights_kit.demo.display import Display
from llm_insights_kit.demo.runner import app_environment
from llm_insights_kit.demo.workload import AGENT_MAX_TURNS, DEPLOYMENT_PREVIEW, demo_phases
from llm_insights_kit.fake_openai.server import FakeOpenAI
from llm_insights_kit.local.ingest import IngestServer

ROOT = Path(__file__).resolve().parents[2]
INCIDENT_RULES = (
    "llm-agent-failure-rate",
    "llm-agent-runaway-steps",
    "llm-content-filter-spike",
    "llm-error-rate-high",
    "llm-latency-p95-high",
    "llm-throttling",
    "llm-tool-failure-rate",
    "llm-ttft-slow",
    "llm-unpriced-model",
)


def test_workload_phases_have_the_documented_mix() -> None:
    phases = {p.name: p for p in demo_phases()}
    assert list(phases) == ["healthy", "agent-loop", "latency", "errors", "content", "unpriced"]
    assert not phases["healthy"].incident and all(
        p.incident for n, p in phases.items() if n != "healthy"
    )
    statuses = [r.script.status for r in phases["errors"].requests]
    assert (statuses.count(500), statuses.count(429)) == (20, 20)
    content = [r.script for r in phases["content"].requests]
    assert sum(s.status == 400 for s in content) == 15
    assert sum(s.finish_reason == "content_filter" for s in content) == 15
    assert {r.deployment for r in phases["unpriced"].requests} == {DEPLOYMENT_PREVIEW}
    assert all(r.script.status == 200 for r in phases["healthy"].requests)
    # the looping runs: one request at a time, each with a tool call in every one of its turns
    loop = phases["agent-loop"]
    assert loop.concurrency == 1 and len(loop.requests) == 2
    for r in loop.requests:
        turns = [r.script, *r.more_scripts]
        assert len(turns) == AGENT_MAX_TURNS and all(t.tool_calls for t in turns)
    assert max(r.script.latency for r in phases["healthy"].requests) <= 1.2
    assert min(r.script.latency for r in phases["latency"].requests if not r.stream) >= 4


def test_demo_phases_are_deterministic_and_scale() -> None:
    first, again = demo_phases(seed=3), demo_phases(seed=3)
    assert [r.question for p in first for r in p.requests] == [
        r.question for p in again for r in p.requests
    ]
    small = demo_phases(scale=0.2)
    assert sum(len(p.requests) for p in small) < sum(len(p.requests) for p in first) / 3


def test_app_environment_keeps_telemetry_local(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real connection string in the caller's environment must not receive demo telemetry."""
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=real")
    ctx = RenderContext(stack="dev", environment="dev", config_file=str(ROOT / "Pulumi.dev.yaml"))
    with FakeOpenAI() as standin, IngestServer() as ingest:
        env = app_environment(standin, ingest, ctx)
    assert env["APPLICATIONINSIGHTS_CONNECTION_STRING"] == ingest.connection_string
    assert env["LLM_INSIGHTS_LOCAL_ENDPOINT"] == ingest.url
    assert env["AZURE_OPENAI_ENDPOINT"] == standin.azure_endpoint
    assert env["LLM_INSIGHTS_ENVIRONMENT"] == "dev"
    # the dev stack's sampler, as the Pulumi program would pass it to the Container App
    assert (env["OTEL_TRACES_SAMPLER"], env["OTEL_TRACES_SAMPLER_ARG"]) == (
        "microsoft.fixed.percentage",
        "1",
    )


def test_telemetry_env_defaults_without_stack_settings(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.x.yaml"
    stack_file.write_text("config: {}\n")
    env = kit_parts.telemetry_env(RenderContext(config_file=str(stack_file)))
    assert env == {
        "LLM_INSIGHTS_ENVIRONMENT": "dev",
        "LLM_INSIGHTS_KEEP_PER_MINUTE": "30",
        "LLM_INSIGHTS_KEEP_SLOW_SECONDS": "5",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=dev",
        "OTEL_SERVICE_NAME": kit_parts.DEFAULT_SERVICE_NAME,
        "OTEL_TRACES_SAMPLER": "microsoft.rate_limited",
        "OTEL_TRACES_SAMPLER_ARG": "5",
    }


def test_plain_display_prints_one_line_per_step(capsys: pytest.CaptureFixture[str]) -> None:
    with Display(sys.stdout, live=False) as display, display.step("Healthy traffic", 3) as step:
        step.advance(3)
        step.note("HTTP 200: 3")
    out = capsys.readouterr().out
    assert re.search(r"Healthy traffic \.\.\.\n.*Healthy traffic: done 3/3 \(HTTP 200: 3\)", out)
    assert "\x1b[" not in out  # no terminal escapes in logs


@pytest.mark.e2e
@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    """The real thing: exit 0, the incident rules fire (none in the healthy phase), previews,
    and the preview of every panel ran (the demo exits 1 when a panel query fails)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLICATIONINSIGHTS_")}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "llm_insights_kit.cli", "demo", "--stack", "dev", "--plain",
         "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    wall = time.monotonic() - started
    out = proc.stdout
    assert proc.returncode == 0, f"{out[-3000:]}\n{proc.stderr[-3000:]}"
    fired = set(re.findall(r"● (\S+) \(sev", out))
    assert set(INCIDENT_RULES) <= fired, out[-3000:]
    assert "Fired during the healthy phase" not in out
    # It ends with `llm-insights check --local` on its store: every panel ran, every rule was
    # evaluated, the required telemetry arrived.
    assert "check passed" in out, out[-3000:]
    assert (tmp_path / "preview" / "index.html").is_file()
    assert (tmp_path / "telemetry.duckdb").is_file()
    # It ends by itself and says how to get the live pages on the same store.
    live = re.search(
        r"llm-insights serve --stack dev --db (\S+), then open http://127\.0\.0\.1:\d+/", out
    )
    assert live and live.group(1).endswith("telemetry.duckdb"), out[-2000:]
    # The 3-minute budget is a speed target: measured and reported, never asserted in a test.
    print(f"demo wall time: {wall:.1f} s")
