"""An app traced by the real peer instrumentation (run as a child process by the e2e test).

``PEER_MODE``: ``peer`` (only ``opentelemetry-instrumentation-genai-openai``), ``kit-first``
(``instrument_openai()`` patched before the peer) or ``peer-first``. ``llm_insights.configure()``
sets the providers (the real Azure Monitor exporter to the loopback ingest endpoint) in every
mode; the trace sampler comes from OTEL_TRACES_SAMPLER(_ARG). Prints what the client measured,
as JSON: per call its duration and, for streams, the time to the first content chunk.
"""

from __future__ import annotations

import json
import os
import time

import llm_insights
import openai
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

# (request model, stream, expected outcome) — the test scripts the stand-in in the same order
PLAN: list[tuple[str, bool, str]] = [
    *[("gpt-4o", False, "ok")] * 4,
    *[("gpt-4o-mini", True, "ok")] * 3,
    ("gpt-4o", False, "500"),
    ("gpt-4o", False, "429"),
    ("mystery-model", False, "ok"),
]


def main() -> None:
    mode = os.environ["PEER_MODE"]
    assert llm_insights.configure("peer-app", disable_offline_storage=True)
    if mode == "kit-first":
        llm_insights.instrument_openai()
    OpenAIInstrumentor().instrument()
    if mode == "peer-first":
        llm_insights.instrument_openai()
    client = openai.OpenAI(base_url=os.environ["STANDIN_BASE_URL"], api_key="t", max_retries=0)
    measured = []
    for model, stream, _outcome in PLAN:
        messages = [{"role": "user", "content": "q"}]
        t0 = time.perf_counter()
        ttft = None
        try:
            if stream:
                chunks = client.chat.completions.create(
                    model=model,
                    messages=messages,
                    stream=True,
                    stream_options={"include_usage": True},
                )
                for chunk in chunks:
                    if ttft is None and chunk.choices and chunk.choices[0].delta.content:
                        ttft = time.perf_counter() - t0
            else:
                client.chat.completions.create(model=model, messages=messages)
        except openai.APIStatusError:
            pass
        measured.append({"duration": time.perf_counter() - t0, "ttft": ttft})
    llm_insights.shutdown()  # flushes spans and metrics
    print(json.dumps(measured))


if __name__ == "__main__":
    main()
