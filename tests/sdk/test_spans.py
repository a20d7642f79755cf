"""chain / retrieval / tool / llm_call / attributes, and the metric allow-list."""

from __future__ import annotations

import asyncio

import llm_insights
import pytest
from llm_insights import _metrics
from llm_insights import contract as c


def test_chain_retrieval_tool_nesting_and_metrics(telemetry):
    with llm_insights.chain("rag_pipeline"):
        with llm_insights.retrieval("vector_search") as r:
            r.record_documents(scores=[0.42, 0.91, 0.3])
        with llm_insights.tool("drug_lookup"):
            pass
    chain = telemetry.span("chain rag_pipeline")
    ret = telemetry.span("retrieval vector_search")
    tool = telemetry.span("execute_tool drug_lookup")
    assert ret.parent.span_id == tool.parent.span_id == chain.context.span_id
    assert chain.attributes[c.GEN_AI_OPERATION_NAME] == c.OPERATION_CHAIN
    assert ret.kind.name == "CLIENT" and ret.attributes[c.GEN_AI_OPERATION_NAME] == "retrieval"
    assert ret.attributes[c.ATTR_RETRIEVAL_DOCUMENTS] == 3
    assert ret.attributes[c.ATTR_RETRIEVAL_TOP_SCORE] == 0.91
    assert tool.attributes[c.GEN_AI_TOOL_NAME] == "drug_lookup"
    [docs] = telemetry.points(c.RETRIEVAL_DOCUMENTS.name)
    assert docs.sum == 3 and tuple(docs.explicit_bounds) == c.RETRIEVAL_DOCUMENTS.bounds
    [top] = telemetry.points(c.RETRIEVAL_TOP_SCORE_BUCKET_COUNTS.name)
    assert top.attributes[c.ATTR_BUCKET_LE] == "1" and top.value == 1  # 0.91 <= 1.0
    assert telemetry.total(c.RETRIEVAL_DURATION.name) == 1
    assert telemetry.total(c.TOOL_DURATION.name) == 1
    assert telemetry.points(c.RETRIEVAL_EMPTY.name) == []


def test_empty_retrieval_counted_and_unreported_is_unknown(telemetry):
    with llm_insights.retrieval("kb") as r:
        r.record_documents(scores=[])
    with llm_insights.retrieval("kb"):
        pass  # never reported: no document metrics, not "0 documents"
    assert telemetry.total(c.RETRIEVAL_EMPTY.name) == 1
    assert telemetry.total(c.RETRIEVAL_DOCUMENTS.name) == 1
    assert telemetry.total(c.RETRIEVAL_DURATION.name) == 2
    assert telemetry.points(c.RETRIEVAL_TOP_SCORE.name) == []


def test_decorators_sync_and_async_and_errors(telemetry):
    @llm_insights.chain("sync_chain")
    def f(x):
        return x + 1

    @llm_insights.tool("async_tool")
    async def g(x):
        await asyncio.sleep(0)
        return x * 2

    @llm_insights.tool("failing")
    def boom():
        raise KeyError("x")

    assert f(1) == 2 and f(2) == 3
    assert asyncio.run(g(4)) == 8
    with pytest.raises(KeyError):
        boom()
    assert len(telemetry.spans("chain sync_chain")) == 2
    assert len(telemetry.spans("execute_tool async_tool")) == 1
    failing = telemetry.span("execute_tool failing")
    assert failing.attributes[c.ERROR_TYPE] == failing.attributes[c.ATTR_ERROR_TYPE] == "KeyError"
    assert failing.status.status_code.name == "ERROR"
    errs = [p for p in telemetry.points(c.TOOL_DURATION.name) if c.ERROR_TYPE in p.attributes]
    assert len(errs) == 1 and errs[0].attributes[c.GEN_AI_TOOL_NAME] == "failing"


def test_async_context_manager(telemetry):
    async def main():
        async with llm_insights.chain("async_chain"), llm_insights.retrieval("r") as r:
            r.record_documents(count=0)

    asyncio.run(main())
    assert (
        telemetry.span("retrieval r").parent.span_id
        == telemetry.span("chain async_chain").context.span_id
    )
    assert telemetry.total(c.RETRIEVAL_EMPTY.name) == 1


def test_llm_call_for_other_clients(telemetry):
    with llm_insights.llm_call(provider="anthropic", model="claude-x", operation="chat") as call:
        call.record_response(model="claude-x-2025", id="msg_1")
        call.record_usage(input_tokens=100, output_tokens=20)
        call.record_completion("I'm sorry, but I can't help with that.", finish_reason="stop")
    span = telemetry.span("chat claude-x")
    a = span.attributes
    assert span.kind.name == "CLIENT"
    assert a[c.GEN_AI_PROVIDER_NAME] == "anthropic" and a[c.GEN_AI_RESPONSE_ID] == "msg_1"
    assert a[c.GEN_AI_USAGE_INPUT_TOKENS] == 100 and a[c.ATTR_UNPRICED] is True
    assert a[c.ATTR_REFUSAL] is True
    assert telemetry.total(c.REFUSALS.name) == 1
    assert telemetry.total(c.UNPRICED_CALLS.name) == 1
    assert telemetry.total(c.TOKEN_USAGE.name) == 2


def test_llm_call_streaming_and_error(telemetry):
    with (
        pytest.raises(TimeoutError),
        llm_insights.llm_call(provider="vllm", model="llama", stream=True) as call,
    ):
        call.record_chunk("Hel")
        call.record_chunk("lo")
        raise TimeoutError
    a = telemetry.span().attributes
    assert a[c.ERROR_TYPE] == "TimeoutError" and a[c.ATTR_STREAM_END] == c.STREAM_END_ERROR
    assert a[c.ATTR_STREAM_CHUNKS] == 2 and a[c.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
    [p] = telemetry.points(c.OPERATION_DURATION.name)
    assert p.attributes[c.ERROR_TYPE] == "TimeoutError"
    assert telemetry.points(c.RESPONSE_LENGTH.name) == []  # failed calls are not evaluated


def test_ids_go_on_spans_never_on_metrics(telemetry):
    with (
        llm_insights.attributes(user_id="u1", session_id="s1", tenant_id="t1"),
        llm_insights.chain("c", user_id="u2"),
        llm_insights.llm_call(provider="openai", model="gpt-4o") as call,
    ):
        call.record_usage(1, 1)
    llm = telemetry.span("chat gpt-4o")
    assert llm.attributes[c.ENDUSER_ID] == "u1" and llm.attributes[c.SESSION_ID] == "s1"
    assert llm.attributes[c.ATTR_TENANT_ID] == "t1"
    assert telemetry.span("chain c").attributes[c.ENDUSER_ID] == "u2"
    for m in telemetry.metrics().values():
        for p in m.data.data_points:
            assert not set(c.SPAN_ONLY_ATTRIBUTES) & set(p.attributes), m.name


@pytest.mark.parametrize(
    ("value", "bounds", "label"),
    [
        (0.5, (0.5, 1.0), "0.5"),  # v <= b goes into b
        (0.51, (0.5, 1.0), "1"),
        (7.0, (0.5, 1.0), "+Inf"),
        (0, (0, 50), "0"),
    ],
)
def test_bucket_for(value, bounds, label):
    assert _metrics.bucket_for(value, bounds) == label


def test_duration_bucket_counter_matches_histogram(telemetry):
    for _ in range(3):
        with llm_insights.llm_call(provider="openai", model="gpt-4o"):
            pass
    [p] = telemetry.points(c.DURATION_BUCKET_COUNTS.name)
    assert p.attributes[c.ATTR_BUCKET_LE] == c.bucket_label(c.LATENCY_PERCENTILE_BOUNDS[0])
    assert p.value == 3


def test_instruments_drop_unlisted_attributes(telemetry):
    from llm_insights import _state

    _state.instruments().record(
        c.OPERATION_DURATION,
        1.0,
        {c.GEN_AI_REQUEST_MODEL: "gpt-4o", c.ENDUSER_ID: "u", "anything": "x", c.ERROR_TYPE: None},
    )
    [p] = telemetry.points(c.OPERATION_DURATION.name)
    assert dict(p.attributes) == {c.GEN_AI_REQUEST_MODEL: "gpt-4o"}


def test_finish_reason_content_filter_alone_counts_one_hit(telemetry):
    with llm_insights.llm_call(provider="azure.ai.openai", model="gpt-4o") as call:
        call.record_completion("cut", finish_reason="content_filter")
    [p] = telemetry.points(c.CONTENT_FILTER_HITS.name)
    assert p.attributes[c.ATTR_FILTER_SOURCE] == c.FILTER_SOURCE_COMPLETION
    assert p.attributes[c.ATTR_FILTER_CATEGORY] == "unknown"
    assert p.attributes[c.ATTR_FILTER_FILTERED] == "true"
    [event] = [e for e in telemetry.span().events if e.name == c.EVENT_CONTENT_FILTER]
    assert event.attributes[c.ATTR_FILTER_CATEGORY] == "unknown"


def test_finish_reasons_are_one_bounded_string_array(telemetry):
    with llm_insights.llm_call(provider="openai", model="gpt-4o") as call:
        call.record_completion("a", finish_reason="stop", index=0)
        call.record_completion("b", finish_reason="length", index=1)
        call.record_completion("c", finish_reason="x" * 500, index=2)  # cut, never unbounded
    a = telemetry.span().attributes
    cut = "x" * c.FINISH_REASON_MAX_CHARS
    assert a[c.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop", "length", cut)  # OTel string array


def test_no_finish_reason_no_attribute(telemetry):
    with llm_insights.llm_call(provider="openai", model="gpt-4o") as call:
        call.record_completion("a")
    a = telemetry.span().attributes
    assert c.GEN_AI_RESPONSE_FINISH_REASONS not in a
