"""The truth harness: one child process runs the real SDK (``truth_child.py``); this process owns
the local ingest server and gives each workload its own store, so a workload's alert windows and
panels hold exactly that workload."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from llm_insights import contract
from llm_insights.contract import TABLE_METRICS

from llm_insights_kit import app_env
from llm_insights_kit.local.ingest import LOOPBACK_EXPORTER_ENV, IngestServer
from llm_insights_kit.local.store import LocalStore

from .alert_plan import ALERT_DEPLOYMENTS, alert_workload
from .truth_plan import (
    COST_DEPLOYMENTS,
    DEPLOYMENTS,
    DRIFT_LEVELS,
    OTHER_SERVICE,
    PRICE_OVERRIDES,
    PRICING_DEPLOYMENTS,
    SERVICE,
    Truth,
    Workload,
    drift_workload,
    main_workload,
    truth_of,
)

CHILD = Path(__file__).with_name("truth_child.py")
ROOT = Path(__file__).resolve().parents[2]
SAMPLING_PERCENT = 25  # microsoft.fixed.percentage arg 0.25 → itemCount 4 on kept spans
CHILD_TIMEOUT_S = 120


@dataclass
class Ran:
    """A workload that ran: its store, what the child measured, and the wall-clock window."""

    workload: Workload
    store: LocalStore
    measured: list[dict[str, Any]]
    start: datetime
    end: datetime
    agent_runs: list[dict[str, Any]] = field(default_factory=list)  # {"id", "duration"} per run

    @property
    def time_range(self) -> tuple[datetime, datetime]:
        """The run, padded by a minute each side (what a workbook time range would cover)."""
        return self.start - timedelta(minutes=1), self.end + timedelta(minutes=1)


class TruthHarness:
    def __init__(self, tmp: Path, service: str = SERVICE) -> None:
        self.tmp = tmp
        self.ingest = IngestServer(None).start()
        prices_file = tmp / "price-overrides.json"
        prices_file.write_text(json.dumps(PRICE_OVERRIDES))
        env = {
            **os.environ,
            "OTEL_TRACES_SAMPLER": "microsoft.fixed.percentage",
            "OTEL_TRACES_SAMPLER_ARG": str(SAMPLING_PERCENT / 100),
            # Only the explicit flush exports metrics: one workload never spills into the next.
            app_env.ENV_OTEL_METRIC_EXPORT_INTERVAL: "3600000",
            # the stack's deployment map and a price override file, as an app would get them
            contract.ENV_PRICING_DEPLOYMENTS: json.dumps(PRICING_DEPLOYMENTS),
            contract.ENV_PRICES_FILE: str(prices_file),
            **LOOPBACK_EXPORTER_ENV,
        }
        for name in ("APPLICATIONINSIGHTS_CONNECTION_STRING", "LLM_INSIGHTS_LOCAL_ENDPOINT"):
            env.pop(name, None)
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(tmp / "child.log").open("wb"),
            env=env,
            cwd=ROOT,
            text=True,
        )
        self._send(
            {
                "service_name": service,
                "ingest_url": self.ingest.url,
                "deployments": {**DEPLOYMENTS, **ALERT_DEPLOYMENTS, **COST_DEPLOYMENTS},
            }
        )
        ready = self._receive()
        assert ready.get("ready"), ready
        self.stores: list[LocalStore] = []

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def _receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            log = (self.tmp / "child.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"truth child exited ({self.proc.poll()}):\n{log}")
        return json.loads(line)

    def run(self, workload: Workload, store: LocalStore | None = None) -> Ran:
        """Run *workload* in the child into *store* (default: a fresh one); return once it is
        flushed."""
        if store is None:
            store = LocalStore()
            self.stores.append(store)
        self.ingest.store = store
        start = datetime.now(UTC)
        self._send({"workload": workload.to_json()})
        reply = self._receive()
        end = datetime.now(UTC)
        assert reply.get("done") == workload.name, reply
        self.ingest.store = None  # nothing after the flush belongs to this workload
        return Ran(workload, store, reply["calls"], start, end, reply.get("agent_runs", []))

    def run_two_periods(self, pair: tuple[str, str]) -> TwoPeriodRun:
        """Two alert workloads (older level, newer level) in one store, split into two periods."""
        store = LocalStore()
        self.stores.append(store)
        older = self.run(alert_workload(pair[0]), store)
        last = store.query(f"{TABLE_METRICS} | summarize newest = max(timestamp)").scalar()
        newer = self.run(alert_workload(pair[1]), store)
        after = last.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        first = store.query(
            f"{TABLE_METRICS} | where timestamp > datetime({after}) "
            "| summarize oldest = min(timestamp)"
        ).scalar()
        assert first is not None, "the second run's rows follow the first's"
        boundary = last + timedelta(milliseconds=1)  # the older period ends, the newer starts
        return TwoPeriodRun(store, older, newer, boundary + timedelta(minutes=15))

    def close(self) -> None:
        try:
            self._send({"quit": True})
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.ingest.stop()
        for store in self.stores:
            store.close()


@dataclass
class DriftRun:
    """A baseline workload, then a current one, in one store; ``now`` is an hour after the
    baseline's last row, so the current rows are "the last hour" and the baseline is older."""

    store: LocalStore
    baseline: Ran
    current: Ran
    now: datetime

    @property
    def time_range(self) -> tuple[datetime, datetime]:
        return self.baseline.start - timedelta(minutes=1), self.now


@dataclass
class TwoPeriodRun:
    """Two alert workloads in one store, evaluated at ``now`` = one windowSize (15 min) after the
    first's last row: the first lies in the older period, the second in the newer one."""

    store: LocalStore
    older: Ran
    newer: Ran
    now: datetime


@pytest.fixture(scope="session")
def drift_runs(truth_harness: TruthHarness) -> dict[str, DriftRun]:
    """Quality drift needs a baseline older than the last hour. Timestamps stay real: the
    baseline and current rows land seconds apart, and the queries are evaluated as of one hour
    (plus a millisecond) after the baseline's last row — which puts only the current rows in
    the last hour, as if the hour in between had no traffic."""
    runs = {}
    for level in DRIFT_LEVELS:
        store = LocalStore()
        truth_harness.stores.append(store)
        baseline = truth_harness.run(drift_workload(level, "baseline"), store)
        last = store.query(f"{TABLE_METRICS} | summarize newest = max(timestamp)").scalar()
        current = truth_harness.run(drift_workload(level, "current"), store)
        runs[level] = DriftRun(store, baseline, current, last + timedelta(hours=1, milliseconds=1))
    return runs


@pytest.fixture(scope="session")
def main_run(truth_harness: TruthHarness) -> tuple[Ran, Truth]:
    """The main truth workload (LLM calls, chains, feedback, agent runs), run once a session."""
    workload = main_workload()
    ran = truth_harness.run(workload)
    return ran, truth_of(workload, ran.measured, ran.agent_runs)


@pytest.hookimpl(tryfirst=True)  # before ``-m "not slow"`` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs the truth harness (a child process running whole workloads through the
    real SDK and exporter, a minute or more on 2 cores) is slow, whichever fixture brings it in:
    ``make test-fast`` leaves it to ``make test``."""
    for item in items:
        if "truth_harness" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@dataclass
class TwoServices:
    """The main workload from SERVICE and the same workload, earlier, from OTHER_SERVICE, in
    one store: what one Application Insights holds for two apps."""

    mine: Ran
    theirs: Ran
    truth: Truth
    their_truth: Truth

    @property
    def time_range(self) -> tuple[datetime, datetime]:
        return self.theirs.time_range[0], self.mine.time_range[1]


@pytest.fixture(scope="session")
def two_services(
    truth_harness: TruthHarness, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwoServices]:
    other = TruthHarness(tmp_path_factory.mktemp("truth-other"), OTHER_SERVICE)
    try:
        store = LocalStore()
        truth_harness.stores.append(store)
        workload = main_workload()
        theirs = other.run(workload, store)
        mine = truth_harness.run(workload, store)
        yield TwoServices(
            mine,
            theirs,
            truth_of(workload, mine.measured, mine.agent_runs),
            truth_of(workload, theirs.measured, theirs.agent_runs),
        )
    finally:
        other.close()


@pytest.fixture(scope="session")
def truth_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TruthHarness]:
    harness = TruthHarness(tmp_path_factory.mktemp("truth"))
    try:
        yield harness
    finally:
        harness.close()
