"""Property-based: whatever shape of chat completion the server sends, the instrumented client
returns what the bare client returns (or raises the same error), and the SDK records a token
count exactly when the server's count is a usable non-negative integer."""

from __future__ import annotations

import json
import math
from typing import Any

import llm_insights
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llm_insights import _guard
from llm_insights import contract as c

from .conftest import MESSAGES, client_answering

counts = st.one_of(
    st.none(),
    st.integers(min_value=-(10**6), max_value=10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
)
texts = st.one_of(st.none(), st.text(max_size=40), st.integers(), st.lists(st.text(), max_size=2))
choice = st.fixed_dictionaries(
    {},
    optional={
        "index": st.one_of(st.integers(-3, 10**6), st.none(), st.text(max_size=3)),
        "message": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {}, optional={"role": st.sampled_from(["assistant", "tool"]), "content": texts}
            ),
        ),
        "finish_reason": st.one_of(st.none(), st.sampled_from(["stop", "length"]), st.integers()),
    },
)
usage = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {}, optional={"prompt_tokens": counts, "completion_tokens": counts, "total_tokens": counts}
    ),
)
bodies = st.fixed_dictionaries(
    {"object": st.just("chat.completion"), "created": st.just(1_760_000_000)},
    optional={
        "id": st.one_of(st.text(max_size=10), st.none(), st.integers()),
        "model": st.one_of(st.sampled_from(["gpt-4o", "acme-9", ""]), st.none(), st.integers()),
        "choices": st.one_of(st.none(), st.lists(choice, max_size=3)),
        "usage": usage,
    },
)


def _usable(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0 or value != int(value):
        return None
    return int(value)


def _call(client: Any) -> tuple[Any, BaseException | None]:
    try:
        return client.chat.completions.create(model="gpt-4o", messages=MESSAGES), None
    except Exception as exc:
        return None, exc


@pytest.mark.filterwarnings("ignore::UserWarning:pydantic.main")
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_any_response_shape(pipeline, body: dict[str, Any]) -> None:
    pipeline.spans_exporter.clear()
    raw = json.dumps(body, allow_nan=True).encode()
    client = client_answering(raw)
    failures_before = _guard.error_counts()

    llm_insights.instrument_openai()
    got, got_exc = _call(client)
    llm_insights.uninstrument_openai()
    want, want_exc = _call(client)

    assert type(got_exc) is type(want_exc)  # the SDK adds no error and swallows none
    if want is not None:
        assert got.model_dump(warnings=False) == want.model_dump(warnings=False)
    spans = pipeline.spans()
    assert len(spans) == 1 and spans[0].end_time is not None
    attrs = spans[0].attributes
    # the oracle is the usage the app sees (the client may coerce, e.g. JSON false -> 0)
    u = getattr(want, "usage", None)
    if u is not None:
        assert attrs.get(c.GEN_AI_USAGE_INPUT_TOKENS) == _usable(getattr(u, "prompt_tokens", None))
        out = _usable(getattr(u, "completion_tokens", None))
        assert attrs.get(c.GEN_AI_USAGE_OUTPUT_TOKENS) == out
    else:
        assert c.GEN_AI_USAGE_INPUT_TOKENS not in attrs
    broke = {  # odd data is not an SDK failure (usage.* is the requested invalid-usage count)
        k
        for k, v in _guard.error_counts().items()
        if v > failures_before.get(k, 0) and not k.startswith("usage")
    }
    assert not broke, broke


delta = st.fixed_dictionaries(
    {},
    optional={
        "role": st.sampled_from(["assistant"]),
        "content": st.one_of(st.none(), st.text(max_size=12), st.integers()),
        "refusal": st.one_of(st.none(), st.text(max_size=5)),
    },
)
chunk_choice = st.fixed_dictionaries(
    {},
    optional={
        "index": st.one_of(st.integers(-2, 300), st.none()),
        "delta": st.one_of(st.none(), delta),
        "finish_reason": st.one_of(st.none(), st.sampled_from(["stop", "length"])),
    },
)
chunks = st.lists(
    st.fixed_dictionaries(
        {"object": st.just("chat.completion.chunk"), "created": st.just(1_760_000_000)},
        optional={
            "id": st.one_of(st.text(max_size=8), st.none()),
            "model": st.one_of(st.sampled_from(["gpt-4o", "x"]), st.none(), st.integers()),
            "choices": st.one_of(st.none(), st.lists(chunk_choice, max_size=2)),
            "usage": usage,
        },
    ),
    max_size=6,
)


def _sse(events: list[dict[str, Any]]) -> bytes:
    body = "".join(f"data: {json.dumps(e, allow_nan=True)}\n\n" for e in events)
    return (body + "data: [DONE]\n\n").encode()


def _stream(client: Any) -> tuple[list[Any], BaseException | None]:
    seen: list[Any] = []
    try:
        for chunk in client.chat.completions.create(
            model="gpt-4o",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},  # asked by the app: nothing is hidden
        ):
            seen.append(chunk.model_dump(warnings=False))
        return seen, None
    except Exception as exc:
        return seen, exc


@pytest.mark.filterwarnings("ignore::UserWarning:pydantic.main")
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=chunks)
def test_any_stream_shape(pipeline, events: list[dict[str, Any]]) -> None:
    import httpx2
    import openai

    raw = _sse(events)

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=raw, headers={"content-type": "text/event-stream"})

    client = openai.OpenAI(
        base_url="http://llm.invalid/v1",
        api_key="t",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    pipeline.spans_exporter.clear()
    failures_before = _guard.error_counts()
    llm_insights.instrument_openai()
    got, got_exc = _stream(client)
    llm_insights.uninstrument_openai()
    want, want_exc = _stream(client)
    assert type(got_exc) is type(want_exc)
    assert got == want  # the app sees exactly the chunks it would see without the SDK
    spans = pipeline.spans()
    assert len(spans) == 1 and spans[0].end_time is not None  # recorded once, at the end
    broke = {
        k
        for k, v in _guard.error_counts().items()
        if v > failures_before.get(k, 0) and not k.startswith("usage")
    }
    assert not broke, broke
