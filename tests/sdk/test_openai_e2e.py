"""The real openai client over HTTP to the loopback stand-in: spans, metrics, streams, Azure."""

from __future__ import annotations

import asyncio
import gc

import llm_insights
import openai
import pytest
import wrapt
from llm_insights import contract as c
from openai.resources.chat.completions import AsyncCompletions, Completions
from openai.resources.embeddings import AsyncEmbeddings, Embeddings

from llm_insights_kit.fake_openai.scripted import Scripted, filter_results

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("instrumented_openai")]

MSG = [{"role": "user", "content": "What is the dose of ibuprofen?"}]


def test_chat_span_and_metrics(telemetry, stand, openai_client):
    stand.script(Scripted(text="Take 200 mg.", input_tokens=12, output_tokens=4))
    resp = openai_client.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=50)
    assert resp.choices[0].message.content == "Take 200 mg."
    span = telemetry.span("chat gpt-4o")
    assert span.kind.name == "CLIENT"
    a = span.attributes
    assert a[c.GEN_AI_OPERATION_NAME] == "chat"
    assert a[c.GEN_AI_PROVIDER_NAME] == a[c.GEN_AI_SYSTEM] == c.PROVIDER_OPENAI
    assert a[c.GEN_AI_REQUEST_MODEL] == a[c.GEN_AI_RESPONSE_MODEL] == "gpt-4o"
    assert a[c.GEN_AI_RESPONSE_ID] == resp.id
    assert a[c.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert (a[c.GEN_AI_USAGE_INPUT_TOKENS], a[c.GEN_AI_USAGE_OUTPUT_TOKENS]) == (12, 4)
    assert a[c.SERVER_ADDRESS] == "127.0.0.1"
    assert a[c.GEN_AI_REQUEST_MAX_TOKENS] == 50
    # gpt-4o: 0.0025 / 0.01 USD per 1K
    assert a[c.MS_COST_INPUT] == pytest.approx(12 * 0.0025 / 1000)
    assert a[c.MS_COST_OUTPUT] == pytest.approx(4 * 0.01 / 1000)
    # only what something reads or what says something: no total (input + output is the total),
    # known usage is the usage attributes themselves, flags only when true
    for unset in (c.ATTR_USAGE_KNOWN, c.ATTR_REFUSAL, c.ATTR_HALLUCINATION_MARKER, c.ATTR_UNPRICED):
        assert unset not in a
    assert not any(k.startswith(f"{c.NS}.cost") for k in a)

    metrics = telemetry.metrics()
    usage = metrics[c.TOKEN_USAGE.name]
    assert usage.unit == "{token}"
    by_type = {p.attributes[c.GEN_AI_TOKEN_TYPE]: p for p in usage.data.data_points}
    assert (by_type["input"].sum, by_type["output"].sum) == (12, 4)
    assert tuple(by_type["input"].explicit_bounds) == c.TOKEN_BUCKETS
    dur = metrics[c.OPERATION_DURATION.name]
    assert dur.unit == "s"
    [p] = dur.data.data_points
    assert p.count == 1 and tuple(p.explicit_bounds) == c.DURATION_BUCKETS
    assert c.ERROR_TYPE not in p.attributes
    assert telemetry.total(c.DURATION_BUCKET_COUNTS.name) == 1
    assert telemetry.total(c.COST.name, gen_ai__token__type="input") == pytest.approx(3e-5)
    assert telemetry.total(c.RESPONSE_LENGTH_BUCKET_COUNTS.name) == 1  # evaluated responses
    assert telemetry.sum(c.RESPONSE_LENGTH.name) > 0  # their characters


def test_stream_usage_injected_and_hidden(telemetry, stand, openai_client):
    stand.script(Scripted(text="one two three", input_tokens=7, output_tokens=3))
    stream = openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
    chunks = list(stream)
    # the app sees exactly a stream without usage: no usage-only chunk, no usage values
    assert all(ch.choices for ch in chunks)
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks) == "one two three"
    assert stand.requests[-1].body["stream_options"] == {"include_usage": True}
    a = telemetry.span("chat gpt-4o").attributes
    assert (a[c.GEN_AI_USAGE_INPUT_TOKENS], a[c.GEN_AI_USAGE_OUTPUT_TOKENS]) == (7, 3)
    assert a[c.ATTR_STREAM_END] == c.STREAM_END_COMPLETED
    assert a[c.ATTR_STREAM_CHUNKS] == 3
    assert a[c.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert telemetry.total(c.TIME_TO_FIRST_CHUNK.name) == 1
    assert telemetry.total(c.TTFT_BUCKET_COUNTS.name) == 1
    # per-chunk gaps are opt-in (configure(chunk_metrics=True)): none by default
    assert telemetry.points(c.TIME_PER_OUTPUT_CHUNK.name) == []
    assert telemetry.total(c.OPERATION_DURATION.name) == 1


def test_stream_usage_chunk_kept_when_app_asked(telemetry, stand, openai_client):
    stand.script(Scripted(text="a b", input_tokens=5, output_tokens=2))
    stream = openai_client.chat.completions.create(
        model="gpt-4o", messages=MSG, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 2
    assert telemetry.span().attributes[c.GEN_AI_USAGE_OUTPUT_TOKENS] == 2


def test_stream_timing_to_first_chunk(telemetry, stand, openai_client):
    llm_insights.configure("svc", chunk_metrics=True)  # the opt-in per-chunk gaps
    stand.script(Scripted(text="x y z", latency=0.15, chunk_interval=0.05))
    list(openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True))
    a = telemetry.span().attributes
    assert 0.15 <= a[c.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] < 5.0
    [ttft] = telemetry.points(c.TIME_TO_FIRST_CHUNK.name)
    assert ttft.sum == pytest.approx(a[c.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK])
    [bucket] = telemetry.points(c.TTFT_BUCKET_COUNTS.name)
    ttft_s = a[c.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]
    first_bound = next(b for b in c.TTFT_PERCENTILE_BOUNDS if ttft_s <= b)
    assert bucket.attributes[c.ATTR_BUCKET_LE] == c.bucket_label(first_bound)
    [gaps] = telemetry.points(c.TIME_PER_OUTPUT_CHUNK.name)
    assert gaps.count == 2 and gaps.sum >= 0.09


def test_stream_closed_early_is_recorded(telemetry, stand, openai_client):
    stand.script(Scripted(text="a b c d e f", chunk_interval=0.01))
    stream = openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
    with stream as s:
        next(iter(s))
    a = telemetry.span().attributes
    assert a[c.ATTR_STREAM_END] == c.STREAM_END_CLOSED
    assert a[c.ATTR_USAGE_KNOWN] is False and c.GEN_AI_USAGE_INPUT_TOKENS not in a
    assert telemetry.total(c.OPERATION_DURATION.name) == 1
    assert telemetry.points(c.TOKEN_USAGE.name) == []  # unknown, not zero


def test_stream_never_consumed_is_recorded(telemetry, stand, openai_client):
    stream = openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
    del stream
    gc.collect()
    a = telemetry.span().attributes
    assert a[c.ATTR_STREAM_END] == c.STREAM_END_ABANDONED and a[c.ATTR_STREAM_CHUNKS] == 0
    assert telemetry.total(c.OPERATION_DURATION.name) == 1


def test_stream_error_midway_keeps_partial_usage(telemetry, stand, openai_client):
    stand.script(Scripted(text="a b c d", fail_after_chunks=2, continuous_usage=True))
    stream = openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
    got = []
    with pytest.raises(openai.APIError):
        for ch in stream:
            got.append(ch)
    assert len(got) == 2
    a = telemetry.span().attributes
    assert a[c.ATTR_STREAM_END] == c.STREAM_END_ERROR
    assert a[c.GEN_AI_USAGE_OUTPUT_TOKENS] == 2  # the last usage seen before the failure
    assert a[c.ERROR_TYPE] == "APIError"
    [p] = telemetry.points(c.OPERATION_DURATION.name)
    assert p.attributes[c.ERROR_TYPE] == "APIError"


def test_old_azure_rejecting_stream_options_is_retried_without(telemetry, stand, azure_client):
    stand.script(Scripted(text="ok then", reject_stream_options=True))
    stand.script(Scripted(text="ok then", reject_stream_options=True))
    chunks = list(
        azure_client.chat.completions.create(model="chat-prod", messages=MSG, stream=True)
    )
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "ok then"
    assert [("stream_options" in r.body) for r in stand.requests] == [True, False]
    a = telemetry.span().attributes
    assert a[c.ATTR_USAGE_KNOWN] is False and c.ERROR_TYPE not in a
    # that endpoint is not asked again
    list(azure_client.chat.completions.create(model="chat-prod", messages=MSG, stream=True))
    assert "stream_options" not in stand.requests[-1].body


def test_async_old_azure_rejecting_stream_options_is_retried_without(telemetry, stand):
    """The async wrapper retries through the same path as the sync one."""
    stand.script(Scripted(text="ok then", reject_stream_options=True))
    stand.script(Scripted(text="ok then", reject_stream_options=True))
    stand.script(Scripted(text="again", reject_stream_options=True))

    async def main() -> list[str]:
        client = openai.AsyncAzureOpenAI(
            azure_endpoint=stand.azure_endpoint,
            api_key="test",
            api_version="2024-10-21",
            max_retries=0,
        )
        texts = []
        for _ in range(2):
            stream = await client.chat.completions.create(
                model="chat-prod", messages=MSG, stream=True
            )
            texts.append(
                "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
            )
        await client.close()
        return texts

    assert asyncio.run(main()) == ["ok then", "again"]
    # rejected, retried without; then that endpoint is not asked again
    assert [("stream_options" in r.body) for r in stand.requests] == [True, False, False]
    first = telemetry.spans()[0].attributes
    assert first[c.ATTR_USAGE_KNOWN] is False and c.ERROR_TYPE not in first
    assert len(telemetry.spans()) == 2


def test_azure_deployment_resolves_price_through_response_model(telemetry, stand, azure_client):
    stand.script(Scripted(input_tokens=1000, output_tokens=1000))
    azure_client.chat.completions.create(model="chat-prod", messages=MSG)
    a = telemetry.span("chat chat-prod").attributes
    assert a[c.GEN_AI_PROVIDER_NAME] == c.PROVIDER_AZURE_OPENAI
    assert a[c.ATTR_DEPLOYMENT] == "chat-prod"
    assert a[c.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024-08-06"
    assert a[c.MS_COST_INPUT] + a[c.MS_COST_OUTPUT] == pytest.approx(0.0025 + 0.01)
    assert stand.requests[-1].path == "/openai/deployments/chat-prod/chat/completions"


def test_azure_stream_prompt_filter_chunk_is_not_first_token(telemetry, stand, azure_client):
    stand.script(Scripted(text="a b", latency=0.0, ttft=0.1))
    chunks = list(
        azure_client.chat.completions.create(model="chat-prod", messages=MSG, stream=True)
    )
    assert chunks[0].choices == []  # Azure's prompt-filter chunk reaches the app unchanged
    a = telemetry.span().attributes
    assert a[c.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0.1
    assert a[c.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024-08-06"


@pytest.mark.parametrize(
    ("scenario", "exc", "error_type"),
    [
        ("rate_limit", openai.RateLimitError, "429"),
        ("server_error", openai.InternalServerError, "500"),
        ("content_filter_prompt", openai.BadRequestError, c.ERROR_TYPE_CONTENT_FILTER),
    ],
)
def test_http_errors_set_error_type(telemetry, stand, azure_client, scenario, exc, error_type):
    with pytest.raises(exc):
        azure_client.chat.completions.create(
            model="chat-prod", messages=MSG, extra_headers={"x-standin-scenario": scenario}
        )
    [p] = telemetry.points(c.OPERATION_DURATION.name)
    assert p.attributes[c.ERROR_TYPE] == error_type and p.count == 1
    span = telemetry.span()
    assert span.attributes[c.ERROR_TYPE] == span.attributes[c.ATTR_ERROR_TYPE] == error_type
    assert span.status.status_code.name == "ERROR"
    # one exception event (one row in exceptions), not one per layer
    assert [e.name for e in span.events].count("exception") == 1


def test_plain_400_is_not_a_content_filter_hit(telemetry, stand, openai_client):
    stand.script(Scripted(status=400, error_code="invalid_value"))
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    [p] = telemetry.points(c.OPERATION_DURATION.name)
    assert p.attributes[c.ERROR_TYPE] == "400"
    assert telemetry.points(c.CONTENT_FILTER_HITS.name) == []


def test_content_filter_blocked_prompt_counts_hit_and_event(telemetry, stand, azure_client):
    stand.script(
        Scripted(
            status=400,
            error_code="content_filter",
            prompt_filter=filter_results(violence=("high", True), hate="low"),
        )
    )
    with pytest.raises(openai.BadRequestError):
        azure_client.chat.completions.create(model="chat-prod", messages=MSG)
    hits = {
        (p.attributes[c.ATTR_FILTER_CATEGORY], p.attributes[c.ATTR_FILTER_SEVERITY]): (
            p.attributes[c.ATTR_FILTER_SOURCE],
            p.attributes[c.ATTR_FILTER_FILTERED],
        )
        for p in telemetry.points(c.CONTENT_FILTER_HITS.name)
    }
    assert hits == {("violence", "high"): ("prompt", "true"), ("hate", "low"): ("prompt", "false")}
    events = [e for e in telemetry.span().events if e.name == c.EVENT_CONTENT_FILTER]
    assert len(events) == 2


def test_content_filter_on_completion_and_finish_reason(telemetry, stand, azure_client):
    stand.script(
        Scripted(
            text="partial",
            finish_reason="content_filter",
            prompt_filter=filter_results(sexual="low"),
            completion_filter=filter_results(violence=("medium", True)),
        )
    )
    resp = azure_client.chat.completions.create(model="chat-prod", messages=MSG)
    assert resp.choices[0].finish_reason == "content_filter"
    got = sorted(
        (p.attributes[c.ATTR_FILTER_SOURCE], p.attributes[c.ATTR_FILTER_CATEGORY], p.value)
        for p in telemetry.points(c.CONTENT_FILTER_HITS.name)
    )
    assert got == [("completion", "violence", 1), ("prompt", "sexual", 1)]


def test_content_filter_in_stream(telemetry, stand, azure_client):
    stand.script(
        Scripted(
            text="a b",
            finish_reason="content_filter",
            completion_filter=filter_results(self_harm=("high", True)),
        )
    )
    list(azure_client.chat.completions.create(model="chat-prod", messages=MSG, stream=True))
    [p] = telemetry.points(c.CONTENT_FILTER_HITS.name)
    assert p.attributes[c.ATTR_FILTER_CATEGORY] == "self_harm"
    assert p.attributes[c.ATTR_FILTER_SOURCE] == c.FILTER_SOURCE_COMPLETION


def test_embeddings(telemetry, stand, openai_client):
    stand.script(Scripted(input_tokens=40))
    resp = openai_client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(resp.data) == 2 and len(resp.data[0].embedding) == 8
    a = telemetry.span("embeddings text-embedding-3-small").attributes
    assert a[c.GEN_AI_OPERATION_NAME] == c.OPERATION_EMBEDDINGS
    assert a[c.GEN_AI_USAGE_INPUT_TOKENS] == 40 and c.GEN_AI_USAGE_OUTPUT_TOKENS not in a
    assert a[c.MS_COST_INPUT] == pytest.approx(40 * 0.00002 / 1000)
    assert telemetry.total(c.TOKEN_USAGE.name, gen_ai__token__type="output") == 0
    assert telemetry.points(c.RESPONSE_LENGTH.name) == []  # not a completion


def test_azure_embeddings(telemetry, stand, azure_client):
    stand.deployments["emb"] = "text-embedding-3-large"
    azure_client.embeddings.create(model="emb", input="hello")
    a = telemetry.span().attributes
    assert a[c.GEN_AI_RESPONSE_MODEL] == "text-embedding-3-large" and a[c.ATTR_DEPLOYMENT] == "emb"
    assert stand.requests[-1].path == "/openai/deployments/emb/embeddings"


def test_async_chat_stream_and_embeddings(telemetry, stand):
    async def main() -> list[str]:
        client = openai.AsyncOpenAI(base_url=stand.base_url, api_key="t", max_retries=0)
        stand.script(Scripted(text="hi", input_tokens=3, output_tokens=1))
        await client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        stand.script(Scripted(text="a b c", input_tokens=3, output_tokens=3))
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=MSG, stream=True
        )
        texts = [ch.choices[0].delta.content async for ch in stream]
        await client.embeddings.create(model="text-embedding-3-small", input="x")
        await client.close()
        return texts

    texts = asyncio.run(main())
    assert "".join(t or "" for t in texts) == "a b c"
    names = sorted(s.name for s in telemetry.spans())
    assert names == ["chat gpt-4o-mini", "chat gpt-4o-mini", "embeddings text-embedding-3-small"]
    streamed = [s for s in telemetry.spans() if s.attributes.get(c.GEN_AI_REQUEST_STREAM)]
    assert streamed[0].attributes[c.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert telemetry.total(c.OPERATION_DURATION.name) == 3


def test_async_azure_stream_closed_early(telemetry, stand):
    async def main() -> None:
        client = openai.AsyncAzureOpenAI(
            azure_endpoint=stand.azure_endpoint,
            api_key="t",
            api_version="2024-10-21",
            max_retries=0,
        )
        stand.script(Scripted(text="a b c d"))
        stream = await client.chat.completions.create(model="chat-prod", messages=MSG, stream=True)
        async for _ in stream:
            break
        await stream.close()
        await client.close()

    asyncio.run(main())
    a = telemetry.span().attributes
    assert a[c.ATTR_STREAM_END] == c.STREAM_END_CLOSED
    assert a[c.GEN_AI_PROVIDER_NAME] == c.PROVIDER_AZURE_OPENAI


def test_with_raw_response_unchanged_and_recorded(telemetry, stand, openai_client):
    stand.script(Scripted(text="raw", input_tokens=2, output_tokens=1))
    raw = openai_client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG)
    assert raw.http_response.status_code == 200
    assert raw.parse().choices[0].message.content == "raw"
    a = telemetry.span().attributes
    assert a[c.GEN_AI_USAGE_OUTPUT_TOKENS] == 1


def test_with_streaming_response_recorded_when_the_body_is_parsed(telemetry, stand, openai_client):
    stand.script(Scripted(text="body", input_tokens=5, output_tokens=1))
    with openai_client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=MSG
    ) as resp:
        assert resp.headers["content-type"].startswith("application/json")  # still the response
        assert telemetry.spans() == []  # nothing read yet
        first = resp.parse()
        assert first.choices[0].message.content == "body"
        assert resp.parse() is first  # openai's cached parse, unchanged
    a = telemetry.span().attributes
    assert (a[c.GEN_AI_USAGE_INPUT_TOKENS], a[c.GEN_AI_USAGE_OUTPUT_TOKENS]) == (5, 1)
    assert a[c.MS_COST_INPUT] > 0
    assert telemetry.total(c.OPERATION_DURATION.name) == 1  # once, not again at close


def test_with_streaming_response_stream_and_unread_close(telemetry, stand, openai_client):
    stand.script(Scripted(text="one two", input_tokens=3, output_tokens=2))
    with openai_client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=MSG, stream=True, stream_options={"include_usage": True}
    ) as resp:
        chunks = list(resp.parse())
    assert not chunks[-1].choices  # the app asked for usage, so it sees the usage chunk
    streamed = telemetry.span().attributes
    assert streamed[c.ATTR_STREAM_END] == c.STREAM_END_COMPLETED
    assert streamed[c.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    with openai_client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=MSG
    ) as resp:
        resp.http_response.read()  # the app read the bytes itself: usage stays unknown
    unread = telemetry.spans()[-1].attributes
    assert unread[c.ATTR_USAGE_KNOWN] is False
    assert telemetry.total(c.OPERATION_DURATION.name) == 2


def test_async_with_streaming_response(telemetry, stand):
    async def main() -> None:
        client = openai.AsyncOpenAI(base_url=stand.base_url, api_key="test", max_retries=0)
        async with client.chat.completions.with_streaming_response.create(
            model="gpt-4o", messages=MSG
        ) as resp:
            await resp.parse()
        async with client.chat.completions.with_streaming_response.create(
            model="gpt-4o", messages=MSG, stream=True
        ) as resp:
            async for _ in await resp.parse():
                pass
        await client.close()

    asyncio.run(main())
    parsed, streamed = (s.attributes for s in telemetry.spans())
    assert parsed[c.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert streamed[c.ATTR_STREAM_END] == c.STREAM_END_COMPLETED


def test_uninstrument_removes_wrappers(telemetry, stand, openai_client):
    llm_insights.uninstrument_openai()
    openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    assert telemetry.spans() == []
    for cls in (Completions, AsyncCompletions, Embeddings, AsyncEmbeddings):
        for method in ("create", "parse", "stream"):
            assert not isinstance(cls.__dict__.get(method), wrapt.FunctionWrapper)
    llm_insights.instrument_openai()
    llm_insights.instrument_openai()  # idempotent: one span per call, not two
    openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    assert len(telemetry.spans()) == 1


def test_missing_usage_is_unknown_not_zero(telemetry, stand, openai_client):
    stand.script(Scripted(include_usage=False))
    openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    a = telemetry.span().attributes
    assert a[c.ATTR_USAGE_KNOWN] is False
    assert c.GEN_AI_USAGE_INPUT_TOKENS not in a and c.GEN_AI_USAGE_OUTPUT_TOKENS not in a
    assert c.MS_COST_INPUT not in a and c.MS_COST_OUTPUT not in a
    assert telemetry.points(c.TOKEN_USAGE.name) == []
    assert telemetry.points(c.COST.name) == [] and telemetry.points(c.UNPRICED_CALLS.name) == []


def test_zero_tokens_with_price_is_a_real_zero_cost(telemetry, stand, openai_client):
    stand.script(Scripted(text="", chunks=[], input_tokens=0, output_tokens=0))
    openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    a = telemetry.span().attributes
    # known zero: the usage attributes are present (0) and usage.known=false is not
    assert c.ATTR_USAGE_KNOWN not in a
    assert (a[c.GEN_AI_USAGE_INPUT_TOKENS], a[c.GEN_AI_USAGE_OUTPUT_TOKENS]) == (0, 0)
    assert a[c.MS_COST_INPUT] == a[c.MS_COST_OUTPUT] == 0
    assert telemetry.total(c.TOKEN_USAGE.name) == 2  # input and output, both 0


def test_unpriced_model_counts_and_leaves_cost_unset(telemetry, stand, openai_client):
    openai_client.chat.completions.create(model="my-finetune-xyz", messages=MSG)
    a = telemetry.span().attributes
    assert a[c.ATTR_UNPRICED] is True and c.MS_COST_INPUT not in a and c.MS_COST_OUTPUT not in a
    assert telemetry.total(c.UNPRICED_CALLS.name) == 1
    assert telemetry.points(c.COST.name) == []


def test_quality_signals_refusal_and_hallucination(telemetry, stand, openai_client):
    for scenario in ("refusal", "hallucination", "ok"):
        openai_client.chat.completions.create(
            model="gpt-4o", messages=MSG, extra_headers={"x-standin-scenario": scenario}
        )
    assert telemetry.total(c.REFUSALS.name) == 1
    assert telemetry.total(c.HALLUCINATION_MARKERS.name) == 1
    assert telemetry.total(c.RESPONSE_LENGTH_BUCKET_COUNTS.name) == 3  # the denominator
    # the flags are set only when true: absent on the other calls
    refused = [s for s in telemetry.spans() if c.ATTR_REFUSAL in s.attributes]
    assert len(refused) == 1 and refused[0].attributes[c.ATTR_REFUSAL] is True
    marked = [s for s in telemetry.spans() if c.ATTR_HALLUCINATION_MARKER in s.attributes]
    assert len(marked) == 1 and marked[0].attributes[c.ATTR_HALLUCINATION_MARKER] is True
    assert marked[0] is not refused[0]


def test_http_span_nests_under_llm_span(telemetry, stand, openai_client):
    with llm_insights.chain("rag"):
        openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    chain_span = telemetry.span("chain rag")
    llm = telemetry.span("chat gpt-4o")
    assert llm.parent.span_id == chain_span.context.span_id


def test_structured_output_parse(telemetry, stand, openai_client):
    import pydantic

    class Dose(pydantic.BaseModel):
        mg: int

    stand.script(Scripted(text='{"mg": 200}', input_tokens=20, output_tokens=5))
    parsed = openai_client.chat.completions.parse(
        model="gpt-4o", messages=MSG, response_format=Dose
    )
    assert parsed.choices[0].message.parsed == Dose(mg=200)
    a = telemetry.span("chat gpt-4o").attributes
    assert (a[c.GEN_AI_USAGE_INPUT_TOKENS], a[c.GEN_AI_USAGE_OUTPUT_TOKENS]) == (20, 5)
    assert telemetry.total(c.OPERATION_DURATION.name) == 1  # parse does not double count


def test_cached_input_tokens_priced_at_the_cached_rate(telemetry, stand, openai_client):
    stand.script(Scripted(text="ok", input_tokens=2000, output_tokens=10, cached_tokens=1536))
    openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    stand.script(Scripted(text="ok", input_tokens=2000, output_tokens=10, cached_tokens=0))
    openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    cached, uncached = (s.attributes for s in telemetry.spans())
    assert c.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS not in cached  # in the cost; no reader
    # gpt-4o: 0.0025 per 1K input, 0.00125 per 1K cached input
    assert cached[c.MS_COST_INPUT] == pytest.approx((464 * 0.0025 + 1536 * 0.00125) / 1000)
    assert uncached[c.MS_COST_INPUT] == pytest.approx(2000 * 0.0025 / 1000)
