"""Spans of the peer instrumentations pinned in requirements.lock (the bench's peers) give the
kit's metrics: ``opentelemetry-instrumentation-openai-v2`` (util-genai 1.1b0) and OpenLLMetry's
``opentelemetry-instrumentation-openai``, each writing error.type its own way.

Each runs in a child process: instrumentors patch the openai package globally and do not all
remove every wrapper when uninstrumented (the bench isolates them the same way)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from llm_insights import contract as c

from llm_insights_kit.fake_openai.scripted import Scripted
from llm_insights_kit.fake_openai.server import FakeOpenAI

CHILD = textwrap.dedent(
    """
    import json, os, sys
    import openai
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    import llm_insights
    from llm_insights import _state

    if sys.argv[1] == "openai_v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    else:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    tp = TracerProvider()
    tp.add_span_processor(llm_insights.genai_span_processor())
    reader = InMemoryMetricReader()
    meters = MeterProvider(
        metric_readers=[reader],
        views=llm_insights.metric_views() + llm_insights.foreign_metric_views(),
    )
    _state.use_providers(tp, meters)
    OpenAIInstrumentor().instrument(tracer_provider=tp, meter_provider=meters)
    client = openai.OpenAI(base_url=os.environ["STANDIN_BASE_URL"], api_key="t", max_retries=0)
    msg = [{"role": "user", "content": "hi"}]
    client.chat.completions.create(model="gpt-4o", messages=msg)
    try:
        client.chat.completions.create(model="gpt-4o", messages=msg)
    except openai.RateLimitError:
        pass
    out = {}
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                for p in m.data.data_points:
                    out.setdefault(m.name, []).append(
                        {"attrs": dict(p.attributes), "count": getattr(p, "count", None),
                         "value": getattr(p, "value", None)}
                    )
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def peer_llm() -> Iterator[FakeOpenAI]:  # not the `fake_openai` fixture: no openai 1.x/2.x run
    with FakeOpenAI() as srv:
        yield srv


@pytest.mark.parametrize("peer", ["openai_v2", "openllmetry"])
def test_peer_instrumentation_spans_give_the_kits_metrics(peer_llm: FakeOpenAI, peer: str) -> None:
    peer_llm.reset()
    peer_llm.script(Scripted(input_tokens=100, output_tokens=20), Scripted(status=429))
    env = {**os.environ, "STANDIN_BASE_URL": peer_llm.base_url}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, peer], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    points = json.loads(proc.stdout.strip().splitlines()[-1])
    durations = points[c.OPERATION_DURATION.name]
    assert sum(p["count"] for p in durations) == 2  # the peer's own histogram is dropped
    errors = [p["attrs"][c.ERROR_TYPE] for p in durations if c.ERROR_TYPE in p["attrs"]]
    assert errors == [c.ERROR_TYPE_THROTTLED]
    cost = sum(p["value"] for p in points[c.COST.name])
    assert cost == pytest.approx((100 * 0.0025 + 20 * 0.01) / 1000, rel=1e-9)
