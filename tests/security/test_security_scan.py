"""Secrets — the connection string, webhook URLs — never in plaintext in stack outputs, rendered
artifacts, logs or committed files (snapshots, golden files, stack files, fixtures)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from llm_insights_kit import cli
from llm_insights_kit.local.ingest import LOOPBACK_EXPORTER_ENV
from llm_insights_kit.paths import KIT_ROOT

from .secrets_scan import findings, strings

REPO = KIT_ROOT


def test_patterns_catch_real_looking_secrets() -> None:
    """The scanner itself: real shapes are caught, the kit's placeholders are not."""
    key = str(uuid.uuid4())
    assert findings(f"InstrumentationKey={key};IngestionEndpoint=https://x/")
    # built from pieces so that this file itself holds no real-looking credential
    slack = "https://hooks.slack.com/services/" + "T01ABCDEF9/B01ABCDEF9/" + "a1b2c3d4" * 3
    pagerduty = "https://events.pagerduty.com/integration/" + "0123456789abcdef" * 2 + "/enqueue"
    assert findings(slack)
    assert findings(pagerduty)
    assert not findings("InstrumentationKey=00000000-0000-4000-8000-000000000001")
    assert not findings("https://hooks.slack.com/services/T0000/B0000/prodfake")


def _tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    return [REPO / p.decode() for p in out if p]


def test_committed_files_hold_no_credentials() -> None:
    """Every tracked file — stack files, golden/snapshot files, fixtures, docs, code."""
    leaks = []
    for path in _tracked_files():
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        leaks += [f"{path.relative_to(REPO)}: {f}" for f in findings(text)]
    assert not leaks, "\n".join(leaks)


@pytest.mark.pulumi
@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_stack_outputs_and_inputs_keep_secrets_secret(stack: str) -> None:
    """Under Pulumi mocks (the infra harness): a plaintext output or resource input never holds
    the connection string or an injected webhook URL; where they appear they are secret."""
    import infra_harness as harness

    run = harness.run_program(stack)
    assert run.error is None, run.error
    injected = list(harness.FAKE_SECRETS[stack].values())
    conn = [v for p, v in strings(run.outputs) if p.startswith("connectionString") and "Key=" in v]
    assert conn, "the mock run exported no connection string to check"
    injected += conn
    leaks = []
    for path, value in strings(run.outputs):
        top = path.split(".", 1)[0].split("[", 1)[0]
        if top not in run.secret_outputs:
            leaks += [f"output {path}: {f}" for f in findings(value, injected)]
    for res in run.resources:
        for path, value in strings(res.inputs):
            if path not in res.secret_paths and not any(
                path.startswith(s + ".") or path.startswith(s + "[") for s in res.secret_paths
            ):
                leaks += [f"{res.type} {res.name} {path}: {f}" for f in findings(value, injected)]
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_rendered_artifacts_hold_no_secrets(stack: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / stack
    assert cli.main(["render", "--stack", stack, "--out", str(out)]) == 0
    printed = capsys.readouterr()
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files
    import infra_harness as harness

    injected = list(harness.FAKE_SECRETS[stack].values())
    leaks = [f"{p.name}: {f}" for p in files for f in findings(p.read_text("utf-8"), injected)]
    leaks += [f"stdout/stderr: {f}" for f in findings(printed.out + printed.err, injected)]
    assert not leaks, "\n".join(leaks)


CHILD = textwrap.dedent(
    """
    import logging, os, sys, openai, llm_insights
    # DEBUG on the libraries that handle the connection string, printed to stderr and kept away
    # from the root logger (the distro exports root records: DEBUG there would feed back)
    handler = logging.StreamHandler(sys.stderr)
    for name in ("llm_insights", "azure", "opentelemetry", "urllib3"):
        lg = logging.getLogger(name)
        lg.setLevel(logging.DEBUG)
        lg.addHandler(handler)
        lg.propagate = False
    llm_insights.configure("svc", connection_string=os.environ["SECRET_CS"], sampling_ratio=1.0,
                           disable_offline_storage=True, enable_live_metrics=False)
    llm_insights.instrument_openai()
    client = openai.OpenAI(base_url=os.environ["STANDIN"], api_key=os.environ["SECRET_API_KEY"],
                           max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    llm_insights.shutdown()
    print("done")
    """
)


@pytest.mark.e2e
def test_logs_never_print_the_connection_string(tmp_path: Path) -> None:
    """The app's logs at DEBUG (SDK, distro, exporter, azure-core HTTP logging) while the SDK
    exports with a secret connection string: neither it nor the instrumentation key appears."""
    from llm_insights_kit.fake_openai.server import FakeOpenAI
    from llm_insights_kit.local.ingest import IngestServer

    ikey = str(uuid.uuid4())
    api_key = "sk-test-" + uuid.uuid4().hex
    script = tmp_path / "app.py"
    script.write_text(CHILD, encoding="utf-8")
    with IngestServer() as ingest, FakeOpenAI() as fake_openai:
        cs = f"InstrumentationKey={ikey};IngestionEndpoint={ingest.url}/;LiveEndpoint={ingest.url}/"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("APPLICATIONINSIGHTS_", "OTEL_"))
        }
        env.update(
            SECRET_CS=cs,
            SECRET_API_KEY=api_key,
            STANDIN=fake_openai.base_url,
            **LOOPBACK_EXPORTER_ENV,
        )
        proc = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=90
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert ingest.envelopes, "nothing was exported: the scan would prove nothing"
    logs = proc.stdout + proc.stderr
    assert "llm_insights" in logs  # DEBUG logging really was on
    assert not findings(logs, [cs, ikey, api_key]), findings(logs, [cs, ikey, api_key])
