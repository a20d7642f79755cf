"""The real Azure Monitor exporter (through configure()) sends to a loopback ingestion endpoint.

configure() sets OpenTelemetry's global providers, which a process can do once, so the app runs
in a child process; this test reads the envelopes the ingestion endpoint received.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from llm_insights import contract as c

from llm_insights_kit import app_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHILD = textwrap.dedent(
    """
    import os, openai, llm_insights
    exporting = llm_insights.configure(
        "pharmabot-api", "1.2.3", environment="test", disable_offline_storage=True,
        sampling_ratio=1.0,
    )
    assert exporting, "configure() did not export"
    assert llm_insights.configure("pharmabot-api") is True  # a second call is safe
    llm_insights.instrument_openai()
    client = openai.OpenAI(base_url=os.environ["STANDIN_BASE_URL"], api_key="t", max_retries=0)
    with llm_insights.chain("rag_pipeline"):
        with llm_insights.attributes(user_id="user-42", session_id="sess-7", tenant_id="t-1"):
            with llm_insights.retrieval("vector_search") as r:
                r.record_documents(scores=[0.91, 0.42])
            with llm_insights.tool("drug_lookup"):
                pass
            resp = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "secret question"}]
            )
            list(client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "q"}], stream=True))
    try:
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "q"}],
            extra_headers={"x-standin-scenario": "rate_limit"},
        )
    except openai.RateLimitError:
        pass
    llm_insights.record_feedback(resp.id, 1.0, comment="private comment")
    llm_insights.flush()
    llm_insights.shutdown()
    print("RESPONSE_ID", resp.id)
    """
)


def _props(env: dict) -> dict:
    return env["data"]["baseData"].get("properties", {})


def test_real_exporter_envelopes(fake_openai, tmp_path):
    from llm_insights_kit.fake_openai.scripted import Scripted
    from llm_insights_kit.local.ingest import IngestServer

    fake_openai.reset()
    fake_openai.script(
        Scripted(input_tokens=9, output_tokens=8), Scripted(input_tokens=9, output_tokens=8)
    )
    script = tmp_path / "app.py"
    script.write_text(CHILD)
    with IngestServer() as ingest:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("APPLICATIONINSIGHTS_", "OTEL_"))
        }
        env.update(
            {
                c.ENV_LOCAL_ENDPOINT: ingest.url,
                "STANDIN_BASE_URL": fake_openai.base_url,
                app_env.ENV_OTEL_METRIC_EXPORT_INTERVAL: "60000",
            }
        )
        proc = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=90
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        response_id = proc.stdout.split("RESPONSE_ID", 1)[1].strip()
        envelopes = ingest.envelopes

    deps = [e for e in envelopes if e["data"]["baseType"] == "RemoteDependencyData"]
    by_name = {e["data"]["baseData"]["name"]: e for e in deps}
    chat = next(
        e
        for e in deps
        if e["data"]["baseData"]["name"] == "chat gpt-4o"
        and _props(e).get(c.GEN_AI_RESPONSE_ID) == response_id
    )
    props = _props(chat)
    assert chat["tags"]["ai.cloud.role"] == "pharmabot-api"  # Application Map role
    assert chat["tags"]["ai.application.ver"] == "1.2.3"
    assert chat["tags"]["ai.user.authUserId"] == "user-42"  # enduser.id → user_AuthenticatedId
    assert chat["tags"]["ai.session.id"] == "sess-7"
    assert props[c.ATTR_TENANT_ID] == "t-1"
    assert props[c.GEN_AI_USAGE_INPUT_TOKENS] == "9"
    assert float(props[c.MS_COST_INPUT]) > 0
    # the exporter str()s the standard string array into a tuple repr (KQL: has "stop")
    assert props[c.GEN_AI_RESPONSE_FINISH_REASONS] == "('stop',)"
    # nothing a metric holds exactly, nothing derivable: no ratio, length or JSON copy
    assert not [k for k in props if k.startswith(f"{c.NS}.response.")]
    assert c.GEN_AI_INPUT_MESSAGES not in props  # content private by default
    assert "secret question" not in json.dumps(envelopes)
    assert "private comment" not in json.dumps(envelopes)
    for name in ("chain rag_pipeline", "retrieval vector_search", "execute_tool drug_lookup"):
        assert name in by_name
    assert _props(by_name["retrieval vector_search"])[c.ATTR_RETRIEVAL_TOP_SCORE] == "0.91"

    metrics: dict[str, list[dict]] = {}
    for e in envelopes:
        if e["data"]["baseType"] == "MetricData":
            m = e["data"]["baseData"]["metrics"][0]
            metrics.setdefault(m["name"], []).append(
                {"value": m["value"], "count": m.get("count"), **_props(e)}
            )
    ok, failed = sorted(metrics[c.OPERATION_DURATION.name], key=lambda r: c.ERROR_TYPE in r)
    assert ok["count"] == 2 and failed["count"] == 1
    assert ok[c.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert failed[c.ERROR_TYPE] == "429"  # metrics keep the standard error.type
    [throttled] = [
        e
        for e in deps
        if e["data"]["baseData"]["success"] is False
        and e["data"]["baseData"]["name"] == "chat gpt-4o"
    ]
    # the exporter drops error.type from span properties; the kit attribute carries it
    assert c.ERROR_TYPE not in _props(throttled)
    assert _props(throttled)[c.ATTR_ERROR_TYPE] == "429"
    assert throttled["data"]["baseData"]["type"] == "GenAI | openai"
    # span-only ids never become metric dimensions
    for rows in metrics.values():
        for row in rows:
            assert not {c.ENDUSER_ID, c.SESSION_ID, c.ATTR_TENANT_ID} & set(row)
    tokens = {r[c.GEN_AI_TOKEN_TYPE]: r["value"] for r in metrics[c.TOKEN_USAGE.name]}
    assert tokens == {"input": 18, "output": 16}
    assert sum(r["value"] for r in metrics[c.DURATION_BUCKET_COUNTS.name]) == 3
    assert all(c.ATTR_BUCKET_LE in r for r in metrics[c.DURATION_BUCKET_COUNTS.name])
    expected = (
        c.COST,
        c.TIME_TO_FIRST_CHUNK,
        c.TTFT_BUCKET_COUNTS,
        c.RESPONSE_LENGTH,
        c.RETRIEVAL_TOP_SCORE_BUCKET_COUNTS,
        c.TOOL_DURATION,
        c.FEEDBACK_SCORE,
    )
    for spec in expected:
        assert spec.name in metrics, spec.name

    events = [e for e in envelopes if e["data"]["baseType"] == "EventData"]
    [feedback] = [e for e in events if e["data"]["baseData"]["name"] == c.EVENT_EVALUATION_RESULT]
    fp = _props(feedback)
    assert fp[c.GEN_AI_EVALUATION_NAME] == c.EVALUATION_USER_FEEDBACK
    assert fp[c.GEN_AI_RESPONSE_ID] == response_id
    assert float(fp[c.GEN_AI_EVALUATION_SCORE_VALUE]) == 1.0
