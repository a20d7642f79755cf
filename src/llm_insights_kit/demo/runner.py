"""``llm-insights demo``: the whole path on one machine, no Azure account.

Local Application Insights (ingest server + DuckDB store) ← the real SDK and Azure Monitor exporter
in the sample app (a uvicorn child process) → the real ``openai`` client → the loopback LLM
stand-in. A driver sends a healthy phase, then an incident (a looping agent run, latency spike,
error burst, content-filter spike, an unpriced model); the app is stopped gracefully so it
flushes; every alert rule is evaluated at the end of the healthy phase and at the end of the run;
workbook previews are written. Timestamps are real (the exporter's): nothing is back-dated.

Why the incident fires rules whose windows (15 min or more) also hold the healthy phase: the
whole run lasts about a minute, so each window holds both phases, and the incident is sized so
its share of the window's calls crosses each rate/percentile threshold despite the healthy
dilution (see ``workload.py`` for the mix and the numbers printed by the run).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from llm_insights import contract

from llm_insights_kit import app_env

from ..artifacts import AlertRuleSpec, RenderContext
from ..check import CheckReport, print_report
from ..errors import KitError
from ..fake_openai.server import FakeOpenAI
from ..fsutil import ensure_dir
from ..invocation import kit_command, shell_path
from ..local.ingest import DEFAULT_PORT, LOCAL_ENDPOINT_ENV, LOOPBACK_EXPORTER_ENV, IngestServer
from ..local.store import LocalStore
from ..paths import BUILD_DIR
from ..stack_config.files import render_context
from . import kit_parts
from .alert_report import RuleResult, evaluate_rules, print_alert_report
from .app_process import AppProcess
from .display import Display
from .workload import (
    AGENT_MAX_TURNS,
    DEPLOYMENT_LARGE,
    DEPLOYMENT_MAIN,
    DEPLOYMENT_PREVIEW,
    DEPLOYMENTS,
    Outcome,
    Phase,
    demo_phases,
    quiet_phase,
    run_phase,
)

# The sample app runs as two services on one Application Insights, as a platform stack deploys
# it: the incident hits INCIDENT_SERVICE while QUIET_SERVICE serves healthy traffic, and every
# rule splits by service (cloud_RoleName), so each alert that fires names the service it is about.
INCIDENT_SERVICE = "chat-api"
QUIET_SERVICE = "triage-agent"

DEMO_DIR = BUILD_DIR / "demo"
DEMO_STORE = "telemetry.duckdb"  # in the --out directory
PREVIEW_DIR = BUILD_DIR / "preview"
# Panels a minutes-long demo cannot fill, and why.
EMPTY_WHY = {
    "llm-drift/quality-drift": " (compares the last hour with the hours before it; the demo "
    "has minutes of data)",
}
# Export often so each phase's metrics land in its own minute, and the end-of-run flush is small.
METRIC_EXPORT_INTERVAL_MS = 2000
SPAN_EXPORT_DELAY_MS = 500
EXPORT_TIMEOUT_S = 15.0
METRIC_BASE_TYPE = "MetricData"
# Stand-in deployments report dated model versions, as Azure OpenAI does.
DEPLOYMENT_MODELS = {
    DEPLOYMENT_MAIN: "gpt-4o-mini-2024-07-18",
    DEPLOYMENT_LARGE: "gpt-4o-2024-08-06",
    DEPLOYMENT_PREVIEW: DEPLOYMENTS[DEPLOYMENT_PREVIEW],
}


@dataclass
class DemoResult:
    store_path: Path
    app_log: Path
    started: datetime
    healthy_end: datetime
    ended: datetime
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    healthy_alerts: list[RuleResult] = field(default_factory=list)
    end_alerts: list[RuleResult] = field(default_factory=list)
    preview_index: Path | None = None
    preview_counts: dict[str, int] = field(default_factory=dict)
    preview_empty: list[str] = field(default_factory=list)
    check: CheckReport | None = None
    wall_seconds: float = 0.0


def app_environment(
    fake_openai: FakeOpenAI, ingest: IngestServer, ctx: RenderContext, service: str | None = None
) -> dict[str, str]:
    """What the Container App would get from the Pulumi stack, pointed at loopback stand-ins;
    ``service`` names the app's service (``OTEL_SERVICE_NAME``) instead of the stack's."""
    env = {
        "AZURE_OPENAI_ENDPOINT": fake_openai.azure_endpoint,
        "AZURE_OPENAI_API_KEY": "local-demo-key",
        "AZURE_OPENAI_DEPLOYMENT": DEPLOYMENT_MAIN,
        "CHAT_ALLOWED_MODELS": ",".join(d for d in DEPLOYMENTS if d != DEPLOYMENT_MAIN),
        # One failure is one failed call in the demo's truth; production keeps the retries.
        "OPENAI_MAX_RETRIES": "0",
        # the triage agent's turn limit the agent-loop incident is sized for
        "CHAT_AGENT_MAX_TURNS": str(AGENT_MAX_TURNS),
        LOCAL_ENDPOINT_ENV: ingest.url,
        contract.ENV_CONNECTION_STRING: ingest.connection_string,
        app_env.ENV_OTEL_METRIC_EXPORT_INTERVAL: str(METRIC_EXPORT_INTERVAL_MS),
        app_env.ENV_OTEL_BSP_SCHEDULE_DELAY: str(SPAN_EXPORT_DELAY_MS),
        # Microsoft's own endpoints are unreachable here (and none of the demo's business).
        **LOOPBACK_EXPORTER_ENV,
        # Service name, environment and trace sampler as the stack sets them; counts stay exact
        # under any sampler because they come from metrics, which are never sampled.
        **kit_parts.telemetry_env(ctx),
    }
    if service is not None:
        env[app_env.ENV_OTEL_SERVICE_NAME] = service
    return env


def _fresh_store(path: Path) -> LocalStore:
    for stale in (path, path.with_name(path.name + ".wal")):
        if stale.exists():
            stale.unlink()
    return LocalStore(path)


def wait_for_metric_export(
    ingest: IngestServer, store: LocalStore, after: datetime, timeout: float
) -> bool:
    """Block until a metric export collected after *after* has been stored.

    Metric points carry their collection time, so such an export holds every call made before
    *after*; waiting for it (instead of sleeping) keeps phases apart in the store.
    """
    after_naive = after.astimezone(UTC).replace(tzinfo=None)
    kql = (
        f"{contract.TABLE_METRICS} | where timestamp >= datetime({after_naive.isoformat()}) | count"
    )
    return ingest.wait_until(lambda: (store.query(kql).scalar() or 0) > 0, timeout=timeout)


def run_demo(
    stack: str,
    display: Display,
    *,
    out_dir: Path = DEMO_DIR,
    scale: float = 1.0,
    previews: bool = True,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DemoResult:
    """Run the demo end to end; raises ``KitError`` with the failing part named."""
    t0 = time.monotonic()
    ensure_dir(out_dir, "--out")
    ctx = render_context(stack)
    rules = kit_parts.load_alert_rules(ctx)
    phases = demo_phases(scale=scale)
    quiet = replace(
        quiet_phase(scale=scale),
        name=f"healthy-{QUIET_SERVICE}",
        title=f"Healthy traffic to {QUIET_SERVICE}",
    )
    store_path = out_dir / DEMO_STORE
    # build/demo -> build/preview (what `llm-insights preview` writes); elsewhere: <out>/preview
    preview_dir = PREVIEW_DIR if out_dir == DEMO_DIR else out_dir / "preview"
    app_log = out_dir / "app.log"

    with display.step("Local Application Insights (ingest endpoint + DuckDB store)"):
        store = _fresh_store(store_path)
        ingest = IngestServer(store).start()
    try:
        with display.step("LLM stand-in (OpenAI/Azure OpenAI-compatible, loopback)"):
            fake_openai = FakeOpenAI(deployments=DEPLOYMENT_MODELS).start()
        try:
            with display.step(
                f"Sample app examples/chat-app as {INCIDENT_SERVICE} and {QUIET_SERVICE} "
                "(uvicorn child processes)"
            ) as s:
                app = AppProcess(
                    app_environment(fake_openai, ingest, ctx, INCIDENT_SERVICE), app_log
                )
                other = AppProcess(
                    app_environment(fake_openai, ingest, ctx, QUIET_SERVICE),
                    out_dir / f"app-{QUIET_SERVICE}.log",
                )
                app.start()
                other.start()
                s.note(f"{INCIDENT_SERVICE} {app.url}, {QUIET_SERVICE} {other.url}")
            started = clock()
            outcomes: dict[str, Outcome] = {}
            try:
                healthy_end = started
                outcomes[quiet.name] = _drive(display, quiet, other.url, fake_openai)
                with display.step(f"Stopping {QUIET_SERVICE} (graceful: the SDK flushes)") as s:
                    code = other.stop()
                    s.note("clean exit" if code in (0, -15) else f"exit code {code}, see its log")
                for phase in phases:
                    outcomes[phase.name] = _drive(display, phase, app.url, fake_openai)
                    if phase.name == "healthy":
                        with display.step("Letting the healthy phase's telemetry land") as s:
                            if not wait_for_metric_export(ingest, store, clock(), EXPORT_TIMEOUT_S):
                                s.note("no metric export yet: the healthy check may miss some")
                        healthy_end = clock()
            finally:
                other.stop()  # already stopped unless a phase failed
                with display.step(f"Stopping {INCIDENT_SERVICE} (graceful: the SDK flushes)") as s:
                    code = app.stop()
                    # uvicorn re-raises SIGTERM after its graceful shutdown: -15 is a clean exit
                    s.note("clean exit" if code in (0, -15) else f"exit code {code}, see app log")
            ended = clock()
        finally:
            fake_openai.stop()

        result = DemoResult(store_path, app_log, started, healthy_end, ended, outcomes)
        with display.step("Evaluating every alert rule", total=2 * len(rules)) as s:
            result.healthy_alerts = evaluate_rules(store, rules, healthy_end, s.advance)
            result.end_alerts = evaluate_rules(store, rules, ended, s.advance)
    finally:
        ingest.stop()
        store.close()

    if previews:
        with display.step("Workbook previews (every panel run on the demo's store)") as s:
            preview = kit_parts.write_previews(ctx, store_path, preview_dir)
            result.preview_index = preview.index
            result.preview_counts = preview.counts()
            result.preview_empty = [
                f"{run.key}/{panel.step}"
                for run in preview.runs
                for panel in run.panels()
                if panel.state == "empty"
            ]
            s.note(", ".join(f"{v} {k}" for k, v in result.preview_counts.items()))
    with display.step("llm-insights check --local (what a deployed stack is checked for)") as s:
        result.check = kit_parts.check_store(ctx, store_path, rules, preview if previews else None)
        s.note(f"{result.check.queries} queries")
    result.wall_seconds = time.monotonic() - t0
    _report(display, result, rules, stack)
    display.console.print()
    print_report(display.console, result.check)  # the checks a deployed stack gets, same code
    return result


def _drive(display: Display, phase: Phase, app_url: str, fake_openai: FakeOpenAI) -> Outcome:
    with display.step(phase.title, total=len(phase.requests)) as s:
        fake_openai.reset()
        outcome = run_phase(phase, app_url, lambda scripts: fake_openai.script(*scripts), s.advance)
        s.note(", ".join(f"HTTP {k}: {v}" for k, v in sorted(outcome.statuses.items())))
    if outcome.transport_errors:
        raise KitError(
            f"demo phase {phase.name!r}",
            f"{outcome.transport_errors} requests got no HTTP answer from the app",
        )
    return outcome


def _report(display: Display, result: DemoResult, rules: list[AlertRuleSpec], stack: str) -> None:
    out = display.console
    out.print()
    total = sum(o.total for o in result.outcomes.values())
    phases = ", ".join(f"{name} {o.total}" for name, o in result.outcomes.items())
    out.print(
        f"Drove {total} requests from {result.started:%H:%M:%S} to {result.ended:%H:%M:%S} UTC "
        f"({phases}).",
        highlight=False,
        soft_wrap=True,
    )
    print_alert_report(out, rules, result.healthy_alerts, result.end_alerts, result)
    rel = _relative
    out.print()
    out.print("[bold]Where to look[/bold]")
    out.print(f"  telemetry store   {rel(result.store_path)} (the six Application Insights tables)")
    if result.preview_index is not None:
        counts = result.preview_counts
        out.print(
            f"  workbook previews {rel(result.preview_index)} (open in a browser; panels: "
            f"{counts.get('ok', 0)} with data, {counts.get('empty', 0)} empty, "
            f"{counts.get('error', 0)} failed)"
        )
        for name in result.preview_empty:
            out.print(
                f"      empty: {name}{EMPTY_WHY.get(name, '')}", highlight=False, soft_wrap=True
            )
    out.print(f"  app log           {rel(result.app_log)}")
    for label, command in where_to_look(stack, result.store_path):
        out.print(f"  {label:<17} {command}", highlight=False, soft_wrap=True, markup=False)
    out.print(f"Finished in {result.wall_seconds:.0f} s.")


def where_to_look(stack: str, store_path: Path) -> list[tuple[str, str]]:
    """The commands the demo prints, each runnable as printed from the working directory (a
    note after a command is a shell comment)."""
    kit = kit_command()
    db = shell_path(store_path)
    return [
        ("re-render", f"{kit} preview --stack {stack} --db {db}"),
        ("evaluate alerts", f"{kit} alerts eval --stack {stack} --db {db}"),
        ("alert rule tests", f"{kit} alerts test --stack {stack}"),
        # The demo ends by itself (CI, tests); the live pages come from `serve` on the same store.
        (
            "live pages",
            f"{kit} serve --stack {stack} --db {db}  # then open http://127.0.0.1:{DEFAULT_PORT}/",
        ),
    ]


def _relative(path: Path) -> str:
    try:
        return os.path.relpath(path, Path.cwd())
    except ValueError:
        return str(path)
