"""``llm-insights serve`` with an app and readers at once, each a real process.

The server holds the DuckDB file for writing, so no other process can open it (checked below);
``preview`` and ``alerts eval`` still work, through the server's loopback query API, and its own
pages show the workbooks and alert states move as the app's calls arrive.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from llm_insights import contract
from support.process import wait_for_line

from llm_insights_kit.errors import KitError
from llm_insights_kit.local.remote import (
    RemoteStore,
    ServeNote,
    decode_value,
    encode_value,
    open_reader,
    serve_note_path,
)
from llm_insights_kit.local.store import LocalStore

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("offline_child.py")
CLI = [sys.executable, "-m", "llm_insights_kit.cli"]
UNPRICED = "acme-llm-9"  # not in the price table: the unpriced-model rule fires on any call


class Served:
    def __init__(self, process: subprocess.Popen[str], url: str, db: Path) -> None:
        self.process, self.url, self.db = process, url, db

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def start_serve(db: Path, *extra: str) -> Served:
    process = subprocess.Popen(
        [*CLI, "serve", "--db", str(db), "--port", "0", "--quiet", *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Served(process, wait_for_line(process, r"open (http://\S+)/$").group(1), db)


def stop_serve(served: Served) -> tuple[str, str]:
    served.process.send_signal(signal.SIGTERM)
    return served.process.communicate(timeout=30)


@pytest.fixture
def served(tmp_path) -> Iterator[Served]:
    s = start_serve(tmp_path / "t.duckdb", "--refresh", "2")
    try:
        yield s
    finally:
        if s.process.poll() is None:
            stop_serve(s)


def run_app(url: str, out: Path, calls: int, pause: float = 0.0, model: str = UNPRICED):
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLICATIONINSIGHTS_")}
    env[contract.ENV_LOCAL_ENDPOINT] = url
    return subprocess.Popen(
        [sys.executable, str(APP), str(out), str(calls), str(pause), model],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def alert_states(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-rule="([^"]+)" data-alert-state="(\w+)">', html))


@pytest.mark.slow  # ~15 s
def test_pages_alerts_and_readers_while_serving(served, tmp_path) -> None:
    status, index = served.get("/")
    assert status == 200
    workbooks = re.findall(r'<li data-workbook="([^"]+)">', index)
    assert "llm-overview" in workbooks and len(workbooks) >= 5
    before = alert_states(index)
    assert before and set(before.values()) == {"ok"}
    assert '<meta http-equiv="refresh" content="2">' in index

    app = run_app(served.url, tmp_path / "a.json", calls=4)
    assert app.wait(timeout=120) == 0, app.stderr.read() if app.stderr else ""

    # The file is held for writing: a second process cannot open it, not even read-only ...
    probe = f"import duckdb; duckdb.connect({str(served.db)!r}, read_only=True)"
    held = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert held.returncode != 0 and "lock" in held.stderr.lower()
    # ... and yet every reader works, through the server.
    after = alert_states(served.get("/")[1])
    assert after["llm-unpriced-model"] == "firing", after
    status, page = served.get("/llm-overview.html?range=900000")
    assert status == 200 and 'class="current">15 minutes</a>' in page
    calls = re.search(r'id="step-headline".*?<tbody><tr><td class="num"[^>]*>([\d,]+)</td>', page)
    assert calls and int(calls.group(1).replace(",", "")) == 4
    for key in workbooks:
        assert served.get(f"/{key}.html")[0] == 200
    assert served.get("/llm-overview.html?range=12345")[0] == 400

    preview = subprocess.run(
        [*CLI, "preview", "--stack", "dev", "--db", str(served.db), "--out", str(tmp_path / "p"),
         "--last", "1h"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert "cannot open" not in preview.stderr, preview.stderr
    assert (tmp_path / "p" / "llm-overview.html").is_file(), preview.stdout + preview.stderr
    assert re.search(r"llm-overview\s+[1-9]\d* ok", preview.stdout), preview.stdout
    evaluated = subprocess.run(
        [*CLI, "alerts", "eval", "--stack", "dev", "--db", str(served.db), "--rule",
         "llm-unpriced-model"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    assert "FIRING" in evaluated.stdout and "llm-unpriced-model" in evaluated.stdout

    # A remote result equals the local one, value for value (datetimes, dynamic, numbers).
    kql = (
        "customMetrics | where name == 'gen_ai.client.operation.duration' "
        "| project timestamp, name, valueSum, valueCount, customDimensions | order by timestamp"
    )
    remote = open_reader(served.db)
    assert isinstance(remote, RemoteStore)
    remote_rows = remote.query(kql).rows
    stop_serve(served)
    assert not serve_note_path(served.db).exists()
    with open_reader(served.db) as local:
        assert isinstance(local, LocalStore)
        assert local.query(kql).rows == remote_rows and remote_rows


def test_query_api_needs_the_token_and_names_bad_kql(served) -> None:
    note = ServeNote.read(served.db)
    assert note is not None and note.url == served.url
    if os.name == "posix":
        assert serve_note_path(served.db).stat().st_mode & 0o077 == 0  # only its user reads it
    request = urllib.request.Request(
        served.url + "/api/query", data=json.dumps({"kql": "requests | count"}).encode()
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403
    remote = RemoteStore(served.db, note)
    assert remote.count("requests") == 0
    with pytest.raises(KitError, match="nosuchtable"):
        remote.query("nosuchtable | count")


def test_values_cross_the_wire_unchanged() -> None:
    values = [
        None, True, 3, 2.5, float("inf"), "x", datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        timedelta(seconds=90, microseconds=5), Decimal("1.2300"), {"a": [1, {"b": None}]}, [1, "2"],
        {"~dt": "not a tag, a key"},
    ]  # fmt: skip
    wire = json.loads(json.dumps([encode_value(v) for v in values]))
    assert [decode_value(v) for v in wire] == values


def test_non_loopback_bind_warns(tmp_path) -> None:
    """192.0.2.1 (TEST-NET-1, never assigned here): the warning comes before the bind fails, so
    the test exposes nothing beyond loopback."""
    done = subprocess.run(
        [*CLI, "serve", "--db", str(tmp_path / "w.duckdb"), "--host", "192.0.2.1", "--port", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "--host 192.0.2.1 is not a loopback address" in done.stderr
    assert done.returncode == 2 and "cannot listen on 192.0.2.1" in done.stderr
    assert not serve_note_path(tmp_path / "w.duckdb").exists()


def test_reader_opens_the_file_itself_when_no_server_holds_it(tmp_path) -> None:
    db = tmp_path / "n.duckdb"
    LocalStore(db).close()
    with open_reader(db) as store:
        assert isinstance(store, LocalStore) and store.read_only
