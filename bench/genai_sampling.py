"""``python -m bench.genai_sampling``: what sampling-proof GenAI metrics cost per unsampled call.

A foreign instrumentation's chat span (the attributes ``opentelemetry-instrumentation-genai-
openai`` sets) is started and ended N times under a sampler that drops it:

- ``dropped``: the plain sampler, no kit — the span is a non-recording no-op;
- ``recorded``: the kit's wrapper turns the drop into RECORD_ONLY and its span processor records
  the call's contract metrics (duration + bucket, tokens, TTFT + bucket, cost) — the span is
  never exported (not sampled);
- ``sampled``: the plain sampler keeps the span and the kit's processor records it — what a
  sampled call costs before the exporter (for scale).

What keeping failed and slow spans (``_keep``) costs, same sampler:

- ``recorded_no_keep``: ``recorded`` with the keep decision switched off — ``recorded`` minus
  this is what the decision costs each call when nothing fails;
- ``failing_no_keep``: every call fails (``error.type`` 500, error status), the keep decision
  switched off — the baseline of the two below (a failed call's metrics differ from a good one's);
- ``failing_capped``: every call fails (``error.type`` 500, error status), the stack default cap
  (30 per minute per reason and model): a few are kept, the rest counted in
  ``llm_insights.kept.dropped``;
- ``failing_kept``: every call fails and every one is kept (no cap): the span is re-stamped for
  the exporter — the exporter's own work per exported span comes on top (not measured here).

CPU time of this process (``time.process_time``), median of rounds, per span. No exporter runs:
the difference ``recorded - dropped`` is what the kit adds to each call the sampler drops.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import llm_insights
from llm_insights import _keep, _span_metrics, _state
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON
from opentelemetry.trace import Status, StatusCode

START = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "server.address": "api.openai.com",
    "server.port": 443,
}
END = {
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.response.id": "chatcmpl-1",
    "gen_ai.response.finish_reasons": ("stop",),
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.response.time_to_first_chunk": 0.42,
}


def _provider(config: str) -> TracerProvider:
    if config == "dropped":
        return TracerProvider(sampler=ALWAYS_OFF)
    sampler = ALWAYS_ON if config == "sampled" else ALWAYS_OFF
    tp = TracerProvider(sampler=_span_metrics.record_genai_spans(sampler))
    tp.add_span_processor(_span_metrics.span_processor())
    return tp


FAILED = {"error.type": "500"}
_KEEP_ON_END = _keep.on_end


def measure(config: str, spans: int) -> float:
    """CPU seconds per span."""
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader], views=llm_insights.metric_views())
    tp = _provider(config)
    _state.use_providers(tp, meters)
    _keep.reset()
    _keep.on_end = (lambda span: None) if config.endswith("no_keep") else _KEEP_ON_END
    if config == "failing_kept":
        _keep.configure(per_minute=10**9)
    failing = config.startswith("failing")
    end = {**END, **FAILED} if failing else END
    error = Status(StatusCode.ERROR) if failing else None
    tracer = tp.get_tracer("opentelemetry.instrumentation.genai.openai")
    try:
        t0 = time.process_time()
        for _ in range(spans):
            span = tracer.start_span("chat gpt-4o", attributes=START)
            span.set_attributes(end)
            if error is not None:
                span.set_status(error)
            span.end()
        reader.collect()  # the tally's hand-over is part of the cost
        return (time.process_time() - t0) / spans
    finally:
        _keep.on_end = _KEEP_ON_END
        _keep.reset()


CONFIGS = (
    "dropped",
    "recorded",
    "sampled",
    "recorded_no_keep",
    "failing_no_keep",
    "failing_capped",
    "failing_kept",
)


def run(spans: int, rounds: int) -> dict[str, list[float]]:
    """CPU seconds per span of each configuration, per round (configurations interleaved, so
    load changes hit every one)."""
    results: dict[str, list[float]] = {k: [] for k in CONFIGS}
    measure("recorded", 2_000)  # warm-up
    for _ in range(rounds):
        for config in CONFIGS:
            results[config].append(measure(config, spans))
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.genai_sampling", description=__doc__)
    p.add_argument("--spans", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--json", action="store_true", help="print the rounds as JSON (make bench)")
    args = p.parse_args(argv)
    results = run(args.spans, args.rounds)
    if args.json:
        print(json.dumps(results))
        return 0
    for config in CONFIGS:
        v = sorted(results[config])
        print(
            f"{config:9s} {statistics.median(v) * 1e6:7.1f} µs/span "
            f"(min {v[0] * 1e6:.1f}, max {v[-1] * 1e6:.1f})"
        )
    med = {k: statistics.median(v) for k, v in results.items()}
    for label, more, less in (
        ("added per call the sampler drops", "recorded", "dropped"),
        ("keep decision, nothing failing", "recorded", "recorded_no_keep"),
        ("keeping, 100 % failing (capped)", "failing_capped", "failing_no_keep"),
        ("keeping, 100 % failing (all kept)", "failing_kept", "failing_no_keep"),
    ):
        print(f"{label}: {(med[more] - med[less]) * 1e6:.1f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
