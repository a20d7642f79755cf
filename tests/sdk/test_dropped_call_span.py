"""A kit call's span that no exporter will see (unsampled, not failed, not slow) gets no
response attributes — its metrics carry the call — while one the keep policy keeps gets them
all (``_keep.may_export``)."""

from __future__ import annotations

from collections.abc import Iterator

import llm_insights
import pytest
from llm_insights import _keep, _offload, _sampler
from llm_insights import contract as c
from support.otel import EndedSpans, Telemetry, dropping_sampler, sending_to


@pytest.fixture
def dropped() -> Iterator[tuple[Telemetry, EndedSpans]]:
    ended = EndedSpans()
    pipe = Telemetry(genai=True, sampler=_sampler.record_genai_spans(dropping_sampler()))
    pipe.tracer_provider.add_span_processor(ended)
    with sending_to(pipe) as p:
        yield p, ended


def _call(fail: bool = False) -> None:
    with llm_insights.llm_call(provider="openai", model="gpt-4o") as call:
        call.record_usage(input_tokens=10, output_tokens=2)
        if fail:
            raise TimeoutError("upstream")


def test_unexported_call_span_skips_attributes_metrics_stay(
    dropped: tuple[Telemetry, EndedSpans],
) -> None:
    pipe, ended = dropped
    _keep.configure(slow_seconds=1000)
    _call()
    _offload.drain()
    [span] = ended.spans
    assert not span.context.trace_flags.sampled
    assert c.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    assert span.attributes[c.GEN_AI_REQUEST_MODEL] == "gpt-4o"  # set at start, for samplers
    assert pipe.spans() == []
    assert pipe.sum(c.TOKEN_USAGE.name) == 12  # the call counts all the same


@pytest.mark.parametrize("why", ["failed", "slow"])
def test_kept_call_span_has_every_attribute(
    dropped: tuple[Telemetry, EndedSpans], why: str
) -> None:
    pipe, _ = dropped
    _keep.configure(slow_seconds=1000 if why == "failed" else 1e-9)
    if why == "failed":
        with pytest.raises(TimeoutError):
            _call(fail=True)
    else:
        _call()
    [span] = pipe.spans()
    assert span.attributes[c.ATTR_KEPT_FOR] == (
        c.KEPT_FOR_ERROR if why == "failed" else c.KEPT_FOR_SLOW
    )
    assert span.attributes[c.GEN_AI_USAGE_INPUT_TOKENS] == 10
    assert span.attributes[c.MS_COST_INPUT] > 0
