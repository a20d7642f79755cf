"""Pointed at a local endpoint, an app sends nothing anywhere else and says one line about it.

A fresh interpreter (``offline_child.py``) runs the real SDK, ``openai`` client, distro and
exporter against a loopback ingest server, with audit hooks on every ``socket.connect``,
``socket.sendto`` and ``socket.getaddrinfo``. Before the SDK's local settings, that process
asked the Azure VM metadata service (169.254.169.254, the distro's default resource detector)
and printed "Exporter is missing a valid region." three times (statsbeat).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llm_insights import _config, contract

from llm_insights_kit.commands.serve import is_loopback
from llm_insights_kit.local.ingest import IngestServer
from llm_insights_kit.local.store import LocalStore

CHILD = Path(__file__).with_name("offline_child.py")
pytestmark = pytest.mark.e2e


def _clean_env() -> dict[str, str]:
    """The parent's environment without any exporter switch: the SDK must set what it needs."""
    drop = {
        contract.ENV_CONNECTION_STRING,
        contract.ENV_LOCAL_ENDPOINT,
        *_config.LOCAL_ONLY_ENV,
    }
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.mark.parametrize("how", ["local-endpoint", "loopback-connection-string"])
def test_local_run_connects_only_to_loopback_and_prints_one_line(tmp_path, how) -> None:
    store = LocalStore()
    with IngestServer(store) as server:
        env = _clean_env()
        if how == "local-endpoint":
            env[contract.ENV_LOCAL_ENDPOINT] = server.url
        else:
            env[contract.ENV_CONNECTION_STRING] = server.connection_string
        out = tmp_path / "attempts.json"
        done = subprocess.run(
            [sys.executable, str(CHILD), str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        attempts = json.loads(out.read_text())
        # The three LLM calls arrived (metrics: spans are sampled, at most 5 traces/s by default).
        calls = store.query(
            f"customMetrics | where name == '{contract.OPERATION_DURATION.name}' "
            "| summarize sum(valueCount)"
        ).scalar()
        assert calls == 3
    assert attempts, "the audit hook saw no socket use at all"
    elsewhere = sorted({host for _event, host in attempts if not is_loopback(host)})
    assert elsewhere == [], f"connection attempts beyond loopback: {elsewhere}"
    console = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert console == [f"llm_insights: telemetry goes to the local endpoint {server.url}/ only"]


@pytest.mark.parametrize(
    ("conn", "local"),
    [
        ("InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:5318/", True),
        ("InstrumentationKey=k;IngestionEndpoint=http://localhost:5318/", True),
        ("InstrumentationKey=k;IngestionEndpoint=http://[::1]:5318/", True),
        (
            "InstrumentationKey=k;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/",
            False,
        ),
        ("InstrumentationKey=k", False),
    ],
)
def test_only_loopback_endpoints_get_the_local_settings(conn, local, monkeypatch, capsys) -> None:
    for name in _config.LOCAL_ONLY_ENV:
        monkeypatch.delenv(name, raising=False)
    assert _config._local_endpoint_settings(conn) is local
    assert all((name in os.environ) is local for name in _config.LOCAL_ONLY_ENV)
    assert bool(capsys.readouterr().err) is local


def test_the_kits_loopback_env_matches_the_sdks() -> None:
    """Tests and benchmark peers configure exporters without the SDK: same switches."""
    from llm_insights_kit.local.ingest import LOOPBACK_EXPORTER_ENV

    assert LOOPBACK_EXPORTER_ENV == _config.LOCAL_ONLY_ENV
