"""The real ``opentelemetry-instrumentation-genai-openai`` (1.3b0) beside the kit, in process:
its spans become the kit's metrics, and with ``instrument_openai()`` on too — patched before or
after it — every call is counted once and its tokens are exported once."""

from __future__ import annotations

from collections.abc import Iterator

import llm_insights
import openai
import pytest
from llm_insights import _instrument_openai
from llm_insights import contract as c
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
from support.otel import Telemetry

from llm_insights_kit.fake_openai.scripted import Scripted
from llm_insights_kit.fake_openai.server import FakeOpenAI

PEER_SCOPE = "opentelemetry.instrumentation.genai.openai"
GPT4O = {"input": 0.0025, "output": 0.01}  # the shipped price, USD per 1K tokens


def exported_usage(pipe: Telemetry) -> list[tuple[str, int]]:
    """(scope, input tokens) of every exported span that carries usage."""
    return [
        (s.instrumentation_scope.name, s.attributes[c.GEN_AI_USAGE_INPUT_TOKENS])
        for s in pipe.spans()
        if c.GEN_AI_USAGE_INPUT_TOKENS in (s.attributes or {})
    ]


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as srv:
        yield srv


@pytest.fixture
def pipe(fake_openai: FakeOpenAI, genai_telemetry: Telemetry) -> Iterator[Telemetry]:
    fake_openai.reset()
    yield genai_telemetry
    OpenAIInstrumentor().uninstrument()


def _peer(pipe: Telemetry) -> None:
    OpenAIInstrumentor().instrument(
        tracer_provider=pipe.tracer_provider, meter_provider=pipe.meter_provider
    )


def _calls(fake_openai: FakeOpenAI) -> None:
    """Two answered calls (one streamed) and one throttled."""
    fake_openai.script(
        Scripted(input_tokens=100, output_tokens=20),
        Scripted(input_tokens=7, output_tokens=5, ttft=0.3),
        Scripted(status=429),
    )
    client = openai.OpenAI(base_url=fake_openai.base_url, api_key="t", max_retries=0)
    msg = [{"role": "user", "content": "hi"}]
    client.chat.completions.create(model="gpt-4o", messages=msg)
    stream = client.chat.completions.create(
        model="gpt-4o", messages=msg, stream=True, stream_options={"include_usage": True}
    )
    for _ in stream:
        pass
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o", messages=msg)


def _assert_counted_once(pipe: Telemetry) -> None:
    assert pipe.total(c.OPERATION_DURATION.name) == 3
    assert pipe.total(c.DURATION_BUCKET_COUNTS.name) == 3
    assert pipe.total(c.OPERATION_DURATION.name, error__type="429") == 1
    assert pipe.total(c.TOKEN_USAGE.name, gen_ai__token__type="input") == 2
    assert pipe.total(c.TTFT_BUCKET_COUNTS.name, llm_insights__bucket__le="0.5") == 1
    want = (107 * GPT4O["input"] + 25 * GPT4O["output"]) / 1000
    assert pipe.total(c.COST.name) == pytest.approx(want, rel=1e-9)
    assert pipe.total(c.UNPRICED_CALLS.name) == 0


def test_peer_spans_give_the_kits_metrics(pipe: Telemetry, fake_openai: FakeOpenAI) -> None:
    _peer(pipe)
    _calls(fake_openai)
    _assert_counted_once(pipe)
    # its own gen_ai.client.* histograms are dropped by the view: the kit's are the only source
    assert (
        pipe.total(c.TOKEN_USAGE.name, gen_ai__provider__name="openai", gen_ai__token__type="input")
        == 2
    )
    assert sorted(exported_usage(pipe)) == [(PEER_SCOPE, 7), (PEER_SCOPE, 100)]


@pytest.mark.parametrize("kit_first", [True, False], ids=["kit-patched-first", "peer-first"])
def test_both_instrumentations_count_each_call_once(
    pipe: Telemetry, fake_openai: FakeOpenAI, kit_first: bool
) -> None:
    if kit_first:
        assert llm_insights.instrument_openai()
        _peer(pipe)
    else:
        _peer(pipe)
        assert llm_insights.instrument_openai()
    _calls(fake_openai)
    _assert_counted_once(pipe)
    # each call's tokens are exported once, on the kit's span
    assert sorted(exported_usage(pipe)) == [("llm_insights", 7), ("llm_insights", 100)]
    peer = [s for s in pipe.spans() if s.instrumentation_scope.name
            == PEER_SCOPE]  # fmt: skip
    assert len(peer) == 3  # still exported (its trace detail), marked
    assert all(s.attributes.get(c.ATTR_COUNTED_ELSEWHERE) for s in peer)


def test_kit_uninstruments_after_the_peer_unwrapped_over_it(
    pipe: Telemetry, fake_openai: FakeOpenAI
) -> None:
    """OpenTelemetry's ``unwrap`` leaves a bound wrapper of ours in the class: the kit must still
    recognise it (else a second instrument_openai() patches twice and calls count twice)."""
    from openai.resources.chat.completions import Completions

    assert llm_insights.instrument_openai()
    _peer(pipe)
    OpenAIInstrumentor().uninstrument()
    assert llm_insights.instrument_openai()  # already ours: no second patch
    _calls(fake_openai)
    assert pipe.total(c.OPERATION_DURATION.name) == 3
    llm_insights.uninstrument_openai()
    assert not _instrument_openai._is_ours(Completions.__dict__["create"])
