"""One app of the soak: real SDK, real openai client, calls until a deadline.

``python soak_app.py OUT PREFIX SECONDS`` with ``LLM_INSIGHTS_LOCAL_ENDPOINT`` set. Each call asks
for a model named ``PREFIX-<n>`` (the stand-in answers any name), so every call's span is
recognisable in the store; the name is appended to OUT once the call returned. Every tenth call
runs inside an app span whose attribute holds an emoji split in half (a lone surrogate, as a
browser can send): its batch must be stored once like any other, the string made valid.
"""

from __future__ import annotations

import sys
import time

import llm_insights
import openai
from opentelemetry import trace

from llm_insights_kit.fake_openai.server import FakeOpenAI

out, prefix, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
with FakeOpenAI() as fake_openai, open(out, "w", encoding="utf-8") as made:
    # every span kept: the soak counts calls one by one (the shipped default samples 5 traces/s)
    llm_insights.configure(service_name=prefix, sampling_ratio=1.0)
    llm_insights.instrument_openai()
    client = openai.OpenAI(base_url=fake_openai.base_url, api_key="test-key", max_retries=0)
    print("calling", flush=True)
    deadline = time.monotonic() + seconds
    n = 0
    tracer = trace.get_tracer("soak")
    while time.monotonic() < deadline:
        model = f"{prefix}-{n}"
        if n % 10 == 0:
            with tracer.start_as_current_span(f"split-{model}", attributes={"emoji": "\ud83d"}):
                client.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": "hi"}]
                )
        else:
            client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}]
            )
        made.write(model + "\n")
        made.flush()
        n += 1
        time.sleep(0.01)
    llm_insights.shutdown()
print("done", n, flush=True)
