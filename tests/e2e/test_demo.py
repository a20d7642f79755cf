"""``llm-insights demo``: its parts (fast), and the whole run end to end (slow)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from support.process import wait_for_line

from llm_insights_kit.artifacts import RenderContext
from llm_insights_kit.demo import kit_parts
from llm_insights_kit.demo.display import Display
from llm_insights_kit.demo.runner import INCIDENT_SERVICE, QUIET_SERVICE, app_environment
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
    with FakeOpenAI() as fake_openai, IngestServer() as ingest:
        env = app_environment(fake_openai, ingest, ctx)
    assert env["APPLICATIONINSIGHTS_CONNECTION_STRING"] == ingest.connection_string
    assert env["LLM_INSIGHTS_LOCAL_ENDPOINT"] == ingest.url
    assert env["AZURE_OPENAI_ENDPOINT"] == fake_openai.azure_endpoint
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


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    out_dir = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLICATIONINSIGHTS_")}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "llm_insights_kit.cli", "demo", "--stack", "dev", "--plain",
         "--out", str(out_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    # The 3-minute budget is a speed target: measured and reported, never asserted in a test.
    print(f"demo wall time: {time.monotonic() - started:.1f} s")
    return proc, out_dir


@pytest.mark.e2e
@pytest.mark.slow
def test_demo_runs_end_to_end(demo_run: tuple[subprocess.CompletedProcess, Path]) -> None:
    """The real thing: exit 0, the incident rules fire (none in the healthy phase), previews,
    and the preview of every panel ran (the demo exits 1 when a panel query fails)."""
    proc, tmp_path = demo_run
    out = proc.stdout
    assert proc.returncode == 0, f"{out[-3000:]}\n{proc.stderr[-3000:]}"
    fired = set(re.findall(r"● (\S+) \(sev", out))
    assert set(INCIDENT_RULES) <= fired, out[-3000:]
    # two services on one store: every rule that fired names the one the incident hit
    services = dict(re.findall(r"● (\S+) \(sev \d, route \w+, service ([\w-]+)\)", out))
    assert services == dict.fromkeys(fired, INCIDENT_SERVICE), out[-3000:]
    assert f"cloud_RoleName={QUIET_SERVICE}" not in out
    assert "Fired during the healthy phase" not in out
    # It ends with `llm-insights check --local` on its store: every panel ran, every rule was
    # evaluated, the required telemetry arrived.
    assert "check passed" in out, out[-3000:]
    assert (tmp_path / "preview" / "index.html").is_file()
    assert (tmp_path / "telemetry.duckdb").is_file()
    # The summary names every phase on one line, closed by a full stop (no dangling comma).
    summary = re.search(r"^Drove \d+ requests from [\d:]+ to [\d:]+ UTC \((.*)\)\.$", out, re.M)
    assert summary and "healthy" in summary.group(1), out[:3000]


def _printed_commands(out: str) -> dict[str, str]:
    """The commands under "Where to look", by label."""
    section = out.split("Where to look", 1)[1]
    commands = {}
    for line in section.splitlines():
        match = re.match(r"  (re-render|evaluate alerts|alert rule tests|live pages)\s+(.+)$", line)
        if match:
            commands[match.group(1)] = match.group(2)
    return commands


@pytest.mark.e2e
@pytest.mark.slow
def test_every_printed_command_runs_as_printed(
    demo_run: tuple[subprocess.CompletedProcess, Path],
) -> None:
    """From the repository root, each command the demo prints runs verbatim (a shell finds it:
    no bare ``llm-insights`` that only an activated venv would) and succeeds on the demo's data."""
    proc, _ = demo_run
    assert proc.returncode == 0, proc.stdout[-3000:]
    commands = _printed_commands(proc.stdout)
    assert set(commands) == {"re-render", "evaluate alerts", "alert rule tests", "live pages"}
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV",)}
    # a fresh shell: the venv is not on PATH (node, which loading rules needs, stays)
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if Path(sys.executable).parent != Path(p)
    )
    for label in ("re-render", "evaluate alerts", "alert rule tests"):
        run = subprocess.run(
            commands[label], shell=True, cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, f"{label}: {commands[label]}\n{run.stdout[-2000:]}{run.stderr}"
        assert "Traceback" not in run.stderr
    # serve runs until stopped: started as printed (but on an ephemeral port, as every test
    # server here), asked for its index page, then stopped.
    # the whole line, its comment too; the port option goes before the comment
    command, comment = commands["live pages"].split("  # ")
    assert comment.startswith("then open http://127.0.0.1:5318/")
    serve = subprocess.Popen(
        f"{command} --port 0 --quiet  # {comment}", shell=True, cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        url = wait_for_line(serve, r"open (http://127\.0\.0\.1:\d+)/").group(1)
        with urllib.request.urlopen(url + "/", timeout=60) as reply:
            page = reply.read().decode()
        assert reply.status == 200 and 'data-alert-state="firing"' in page
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=30)


def test_the_kit_command_is_spelled_so_a_shell_finds_it(tmp_path: Path, monkeypatch) -> None:
    """Bare ``llm-insights`` only when PATH finds that same script; else the venv's path."""
    from llm_insights_kit.invocation import kit_command

    bin_dir = tmp_path / "repo" / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "llm-insights"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert kit_command(tmp_path / "repo") == ".venv/bin/llm-insights"
    assert kit_command(tmp_path / "elsewhere") == str(script)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin")
    assert kit_command(tmp_path / "repo") == "llm-insights"


def test_the_summary_and_commands_print_whole(tmp_path: Path) -> None:
    """The summary is one sentence on one line (no comma left dangling at a wrap), and each
    command under "Where to look" is one line, as runnable as printed."""
    import io
    from collections import Counter
    from datetime import UTC, datetime

    from llm_insights_kit.demo.runner import DemoResult, _report
    from llm_insights_kit.demo.workload import Outcome

    stream = io.StringIO()
    at = datetime(2026, 12, 6, 22, 55, tzinfo=UTC)
    result = DemoResult(tmp_path / "t.duckdb", tmp_path / "app.log", at, at, at)
    result.outcomes = {
        name: Outcome(statuses=Counter({200: 40}))
        for name in ("healthy", "agent-loop", "latency", "errors", "content", "unpriced")
    }
    _report(Display(stream, live=False), result, [], "dev")
    out = stream.getvalue()
    [summary] = [line for line in out.splitlines() if line.startswith("Drove")]
    assert summary.endswith("(healthy 40, agent-loop 40, latency 40, errors 40, content 40, "
                            "unpriced 40).")  # fmt: skip
    assert not re.search(r",\s*$", out, re.M)  # no line ends in a comma
    commands = _printed_commands(out)
    assert commands["alert rule tests"].endswith("llm-insights alerts test --stack dev")
    assert f"serve --stack dev --db {tmp_path / 't.duckdb'}  # then open" in commands["live pages"]
