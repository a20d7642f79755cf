"""The contract is coherent: what dashboards and alerts read is what the SDK can emit."""

from __future__ import annotations

import math

import pytest
from llm_insights import contract as c


def test_metric_names_unique_and_namespaced():
    names = [m.name for m in c.METRICS]
    assert len(names) == len(set(names))
    for m in c.METRICS:
        assert m.name.startswith(("gen_ai.", f"{c.NS}.")), m.name
        assert m.instrument in ("histogram", "counter")
        assert m.unit and m.description


def test_semconv_names():
    assert c.TOKEN_USAGE.name == "gen_ai.client.token.usage" and c.TOKEN_USAGE.unit == "{token}"
    assert c.OPERATION_DURATION.name == "gen_ai.client.operation.duration"
    assert c.TIME_TO_FIRST_CHUNK.name == "gen_ai.client.operation.time_to_first_chunk"
    assert c.TIME_PER_OUTPUT_CHUNK.name == "gen_ai.client.operation.time_per_output_chunk"
    assert c.TOKEN_BUCKETS[0] == 1 and c.TOKEN_BUCKETS[-1] == 67108864
    assert c.DURATION_BUCKETS[0] == 0.01 and c.DURATION_BUCKETS[-1] == 81.92


def test_bounds_sorted_and_bucket_counters_labelled():
    for m in c.METRICS:
        assert list(m.bounds) == sorted(m.bounds), m.name
        if m.name.endswith(".buckets"):
            assert m.instrument == "counter" and m.bounds, m.name
            assert c.ATTR_BUCKET_LE in m.dimensions, m.name
        if m.instrument == "histogram":
            assert m.bounds, m.name


def test_span_only_attributes_are_never_dimensions():
    for m in c.METRICS:
        assert not set(c.SPAN_ONLY_ATTRIBUTES) & set(m.dimensions), m.name


@pytest.mark.parametrize(
    ("bound", "label"), [(0.5, "0.5"), (10, "10"), (1.0, "1"), (math.inf, "+Inf"), (0.05, "0.05")]
)
def test_bucket_label(bound, label):
    assert c.bucket_label(bound) == label


def test_throttled_error_type_is_what_a_429_records():
    import httpx2
    import openai
    from llm_insights._errors import error_type_of

    req = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    exc = openai.RateLimitError("slow down", response=httpx2.Response(429, request=req), body=None)
    assert error_type_of(exc) == c.ERROR_TYPE_THROTTLED


def test_llm_operations_cover_every_instrumented_operation():
    from llm_insights._instrument_openai import _TARGETS, api_operation

    assert {api_operation(t[3]) for t in _TARGETS} <= set(c.LLM_OPERATIONS)
    assert len(set(c.LLM_OPERATIONS)) == len(c.LLM_OPERATIONS)
    assert not {c.OPERATION_RETRIEVAL, c.OPERATION_EXECUTE_TOOL, c.OPERATION_CHAIN} & set(
        c.LLM_OPERATIONS
    )
