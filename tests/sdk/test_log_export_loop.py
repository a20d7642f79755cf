"""An exporting app with DEBUG logging on the root logger: the export pipeline's own records
(azure-core request logging, urllib3, the exporter) must not be exported, or every export logs
records that need another export and the loop never settles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from llm_insights_kit.local.ingest import LOOPBACK_EXPORTER_ENV

pytestmark = pytest.mark.e2e

_APP = textwrap.dedent(
    """
    import json, logging, sys, time
    from llm_insights_kit.local.ingest import IngestServer
    import llm_insights

    with IngestServer() as srv:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
        assert llm_insights.configure(
            "loop-check", local_endpoint=srv.url, disable_offline_storage=True,
            enable_live_metrics=False,
        )
        logging.getLogger("myapp").info("app line")

        def messages():
            return [
                e["data"]["baseData"].get("message", "")
                for e in srv.envelopes
                if e.get("data", {}).get("baseType") == "MessageData"
            ]

        llm_insights.flush(3000)
        first = messages()
        time.sleep(1.0)  # a loop would keep exporting on its own here
        llm_insights.flush(3000)
        print(json.dumps({"first": first, "then": messages()}))
        sys.stdout.flush()
        import os; os._exit(0)  # skip the distro's exit-time exports
    """
)


def test_export_pipeline_logs_are_not_exported(tmp_path):
    script = tmp_path / "app.py"
    script.write_text(_APP)
    env = {
        **os.environ,
        **LOOPBACK_EXPORTER_ENV,
        "OTEL_TRACES_SAMPLER": "always_on",
    }
    for var in ("APPLICATIONINSIGHTS_CONNECTION_STRING", "PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME"):
        env.pop(var, None)
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=30,  # the loop this guards against never settles
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    first, then = out["first"], out["then"]
    assert "app line" in first  # the app's own records are still exported
    pipeline = [m for m in then if "/v2.1/track" in m or "HTTP connection" in m]
    assert pipeline == [], pipeline[:3]
    assert then == first  # nothing logged by the app since: nothing more exported
