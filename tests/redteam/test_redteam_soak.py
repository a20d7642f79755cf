"""The soak: N apps of the real SDK against the server for a bounded time, the server killed
with SIGKILL mid-way and restarted on the same file, one app killed too. Every call of an app
that finished is stored exactly once; no call of the killed app is stored twice; the server's
peak RSS stays under a stated bound.

While the server is down the exporters keep what they could not deliver in their offline
storage and lease it for 60 s before re-sending; batches whose answer the kill cut off are
re-sent too, although the killed server had committed them. The test expires those leases (as
a minute of waiting would) and lets one more app run, whose first successful export re-sends
them: then every call must be in the store, once.

``LLM_INSIGHTS_SOAK_SECONDS`` lengthens the run (default 6 s of calls per app) for a longer
soak by hand; the default keeps the test well under a minute of wall time on an idle machine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from llm_insights import contract

from llm_insights_kit import app_env
from llm_insights_kit.local.store import LocalStore

HERE = Path(__file__).parent
APPS = 3
SECONDS = float(os.environ.get("LLM_INSIGHTS_SOAK_SECONDS", "6"))
#: The server's peak resident memory (VmHWM), measured 116 MB for this load; the bound leaves
#: room for a busier machine, and is far below what keeping every envelope used to cost.
RSS_BOUND_MB = 400


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _expire_leases(root: Path) -> int:
    """Release the exporters' leases on their stored batches (``<name>.blob@<until>.lock``,
    azure-monitor-opentelemetry-exporter ``_storage.py``) so the next export re-sends them."""
    leased = list(root.rglob("*.blob@*.lock"))
    for path in leased:
        path.rename(path.with_name(path.name.split("@", 1)[0]))
    return len(list(root.rglob("*.blob")))


def _server(db: Path, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(HERE / "soak_server.py"), str(db), str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready", process.stderr.read()
    return process


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_soak_with_kill_9_stores_every_acknowledged_call_once(tmp_path) -> None:
    db, port = tmp_path / "soak.duckdb", _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLICATIONINSIGHTS_")}
    env[contract.ENV_LOCAL_ENDPOINT] = f"http://127.0.0.1:{port}"
    env[app_env.ENV_OTEL_BSP_SCHEDULE_DELAY] = "300"  # many small batches: many in flight
    env["TMPDIR"] = str(tmp_path)  # the exporters' offline storage, private to this test
    server = _server(db, port)
    apps = [
        subprocess.Popen(
            [
                sys.executable,
                str(HERE / "soak_app.py"),
                str(tmp_path / f"app{i}.txt"),
                f"soak{i}",
                str(SECONDS),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(APPS)
    ]
    peaks = []
    try:
        for app in apps:
            assert app.stdout is not None
            assert app.stdout.readline().strip() == "calling", app.stderr.read()
        time.sleep(SECONDS / 3)
        apps[0].kill()  # an app dies mid-way: what it had not exported is lost, nothing doubled
        peaks.append(_peak_rss_mb(server.pid))
        server.kill()  # SIGKILL mid-batch: answers lost, batches re-sent to the next server
        server.wait(30)
        time.sleep(0.5)
        server = _server(db, port)
        for app in apps[1:]:
            out, err = app.communicate(timeout=120)
            assert app.returncode == 0 and out.startswith("done"), err[-2000:]
        held = _expire_leases(tmp_path)
        drain = subprocess.run(
            [sys.executable, str(HERE / "soak_app.py"), str(tmp_path / "drain.txt"), "drain",
             "2"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert drain.returncode == 0, drain.stderr[-2000:]
        assert list(tmp_path.rglob("*.blob*")) == [], "the exporters still hold batches"
        peaks.append(_peak_rss_mb(server.pid))
    finally:
        for app in apps:
            if app.poll() is None:
                app.kill()
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)
    with LocalStore(db, read_only=True) as store:
        stored = Counter(
            row[0]
            for row in store.query(
                "dependencies | extend m = tostring(customDimensions['gen_ai.request.model']) "
                "| where m startswith 'soak' | project m"
            ).rows
        )
        split = {
            row[0]: row[1]
            for row in store.query(
                "dependencies | where name startswith 'split-' "
                "| summarize n = count(), emoji = take_any(tostring(customDimensions.emoji)) "
                "by name | project name, strcat(n, ' ', emoji)"
            ).rows
        }
    made = [(tmp_path / f"app{i}.txt").read_text().split() for i in range(APPS)]
    for calls in made[1:]:  # the split-emoji spans: stored once, made valid
        for model in calls[::10]:
            assert split.get(f"split-{model}") == "1 \ufffd", (model, split.get(f"split-{model}"))
    assert all(made), "an app made no call: the soak proved nothing"
    doubled = {m: n for m, n in stored.items() if n > 1}
    assert doubled == {}, f"stored more than once: {sorted(doubled)[:10]}"
    for calls in made[1:]:  # apps that finished: every call acknowledged, so every call stored
        missing = [m for m in calls if stored[m] != 1]
        assert missing == [], f"{len(missing)} of {len(calls)} calls missing: {missing[:10]}"
    assert set(stored) - {m for calls in made for m in calls} <= {f"drain-{i}" for i in range(999)}
    assert max(peaks) < RSS_BOUND_MB, peaks
    total = sum(len(c) for c in made)
    print(f"soak: {total} calls, {sum(stored.values())} stored, {held} batches re-sent from "
          f"offline storage, server peak RSS {max(peaks):.0f} MB")  # fmt: skip
