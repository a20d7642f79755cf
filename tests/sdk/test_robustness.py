"""The SDK never raises into the app, never changes results, and degrades bad input to unknown."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import llm_insights
import openai
import pytest
from badinput.conftest import MESSAGES, client_answering, completion
from llm_insights import _guard, _offload, _state
from llm_insights import contract as c
from support.otel import Telemetry

from llm_insights_kit.fake_openai.scripted import Scripted

MSG = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("inp", "out", "known_in", "known_out"),
    [
        (-5, 3, None, 3),
        (2.5, "7", None, None),
        (math.nan, math.inf, None, None),
        (True, None, None, None),
        (10.0, 0, 10, 0),
    ],
)
def test_bad_token_counts_become_unknown(telemetry, inp, out, known_in, known_out):
    with llm_insights.llm_call(provider="openai", model="gpt-4o") as call:
        call.record_usage(input_tokens=inp, output_tokens=out)
    a = telemetry.span().attributes
    assert a.get(c.GEN_AI_USAGE_INPUT_TOKENS) == known_in
    assert a.get(c.GEN_AI_USAGE_OUTPUT_TOKENS) == known_out
    sums = {p.attributes[c.GEN_AI_TOKEN_TYPE]: p.sum for p in telemetry.points(c.TOKEN_USAGE.name)}
    expected = {k: v for k, v in (("input", known_in), ("output", known_out)) if v is not None}
    assert sums == expected


def test_non_utf8_and_odd_text(telemetry):
    llm_insights.configure("svc", capture_content=True)
    with llm_insights.llm_call(provider="openai", model="gpt-4o", messages=[{"content": 5}]) as cl:
        cl.record_completion(b"caf\xe9 \xff")
        cl.record_completion("\ud800 lone surrogate")
        cl.record_completion(None)
        cl.record_completion(12345)
    a = telemetry.span().attributes
    assert telemetry.sum(c.RESPONSE_LENGTH.name) > 0
    assert "\ufffd" in a[c.GEN_AI_OUTPUT_MESSAGES] or "?" in a[c.GEN_AI_OUTPUT_MESSAGES]


def test_garbage_api_inputs_never_raise(telemetry):
    with llm_insights.llm_call(provider=None, model=123, operation=None) as call:  # type: ignore[arg-type]
        call.record_usage(object(), [])
        call.record_response(model=5, id=None)
        call.record_content_filter("not a mapping")
        call.record_content_filter({"hate": {"severity": 7}})
    with llm_insights.retrieval(None) as r:  # type: ignore[arg-type]
        r.record_documents(scores=[math.nan, "x", None, 0.3], count=-1)
    llm_insights.record_feedback(None, "great")  # type: ignore[arg-type]
    llm_insights.evaluate(None, "judge", score=math.nan)
    assert telemetry.total(c.OPERATION_DURATION.name) == 1
    assert telemetry.span("retrieval unnamed").attributes[c.ATTR_RETRIEVAL_TOP_SCORE] == 0.3


def test_internal_failure_is_caught_logged_once_and_counted(
    telemetry, stand, openai_client, monkeypatch, caplog
):
    llm_insights.instrument_openai()
    real = _state.instruments()

    class Broken:
        def __getattr__(self, name):
            if name in ("add",):
                return real.add
            raise RuntimeError("instrumentation bug")

    monkeypatch.setattr(_state, "instruments", lambda: Broken())
    before = _guard.error_counts().get("llm_call.finish", 0)
    with caplog.at_level("WARNING", logger="llm_insights"):
        r1 = openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
        r2 = openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
        _offload.drain()  # the failure happens where the call is recorded: the emit thread
    assert r1.choices[0].message.content and r2.choices[0].message.content
    assert _guard.error_counts()["llm_call.finish"] == before + 2
    warnings = [r for r in caplog.records if "llm_call.finish" in r.getMessage()]
    assert len(warnings) <= 1  # logged once per site (zero if an earlier test logged it)
    monkeypatch.undo()
    errs = [
        p
        for p in telemetry.points(c.SDK_ERRORS.name)
        if p.attributes[c.ATTR_SDK_COMPONENT] == "llm_call.finish"
    ]
    assert errs and errs[0].value == 2
    assert len(telemetry.spans()) == 2  # spans still ended


def test_broken_tracer_does_not_break_the_app(telemetry, stand, openai_client, monkeypatch):
    llm_insights.instrument_openai()

    def broken_tracer():
        raise RuntimeError("no tracer")

    monkeypatch.setattr(_state, "tracer", broken_tracer)
    resp = openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    assert resp.choices[0].message.content
    chunks = list(openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True))
    assert chunks and "stream_options" not in stand.requests[-1].body  # no telemetry, no change
    with llm_insights.chain("c"):
        pass
    assert _guard.error_counts().get("openai.prepare", 0) >= 2


def test_app_exceptions_propagate_unchanged(telemetry, stand, openai_client):
    llm_insights.instrument_openai()
    stand.script(Scripted(status=429, error_code="rate_limit_exceeded", retry_after=2))
    with pytest.raises(openai.RateLimitError) as info:
        openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    assert info.value.response.headers["retry-after"] == "2"
    with pytest.raises(ZeroDivisionError), llm_insights.chain("c"):
        1 / 0  # noqa: B018


def test_result_is_the_same_object(telemetry, stand, openai_client):
    llm_insights.instrument_openai()
    stand.script(Scripted(response_id="fixed"))
    resp = openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    assert type(resp) is openai.types.chat.ChatCompletion and resp.id == "fixed"
    stream = openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
    assert isinstance(stream, openai.Stream)  # the proxy passes isinstance
    assert stream.response.status_code == 200  # attributes forwarded
    stream.close()


def test_evaluators_run_in_background(telemetry):
    seen = []

    def judge(inp):
        seen.append(inp.text)
        return llm_insights.Evaluation("groundedness", score=0.8, label="pass")

    def crashing(_inp):
        raise RuntimeError("judge down")

    llm_insights.register_evaluator(judge)
    llm_insights.register_evaluator(crashing)
    with llm_insights.llm_call(provider="openai", model="gpt-4o") as call:
        call.record_response(id="resp-1")
        call.record_completion("The answer.")
    llm_insights.flush()
    assert seen == ["The answer."]
    [log] = telemetry.logs()
    attrs = log.log_record.attributes
    assert attrs[c.MS_CUSTOM_EVENT_NAME] == c.EVENT_EVALUATION_RESULT
    assert attrs[c.GEN_AI_EVALUATION_NAME] == "groundedness"
    assert attrs[c.GEN_AI_EVALUATION_SCORE_LABEL] == "pass"
    assert attrs[c.GEN_AI_RESPONSE_ID] == "resp-1"
    [p] = telemetry.points(c.EVALUATION_SCORE.name)
    assert p.sum == 0.8 and p.attributes[c.GEN_AI_EVALUATION_NAME] == "groundedness"
    assert _guard.error_counts().get("evaluator", 0) >= 1


def test_record_feedback_event_and_histogram(telemetry):
    llm_insights.record_feedback(response_id="chatcmpl-1", score=-1)
    [log] = telemetry.logs()
    a = log.log_record.attributes
    assert a[c.MS_CUSTOM_EVENT_NAME] == c.EVENT_EVALUATION_RESULT
    assert a[c.GEN_AI_EVALUATION_NAME] == c.EVALUATION_USER_FEEDBACK
    assert a[c.GEN_AI_EVALUATION_SCORE_VALUE] == -1 and a[c.GEN_AI_RESPONSE_ID] == "chatcmpl-1"
    assert telemetry.points(c.FEEDBACK_SCORE.name) == []  # OTel histograms reject negatives
    llm_insights.record_feedback(response_id="chatcmpl-2", score=4)
    [p] = telemetry.points(c.FEEDBACK_SCORE.name)
    assert p.sum == 4 and tuple(p.explicit_bounds) == c.FEEDBACK_SCORE.bounds
    buckets = {
        b.attributes[c.ATTR_BUCKET_LE]: b.value
        for b in telemetry.points(c.FEEDBACK_BUCKET_COUNTS.name)
    }
    assert buckets == {"-1": 1, "4": 1}


@pytest.mark.parametrize(
    ("value", "shown"),
    [(-5, "-5"), (2.5, "2.5"), (math.nan, "nan"), ("12", "'12'"), (True, "True")],
)
def test_invalid_usage_is_logged_once_per_field_and_counted(telemetry, caplog, value, shown):
    caplog.set_level("WARNING", logger="llm_insights")
    before = _guard.error_counts().get(c.SDK_COMPONENT_USAGE_INVALID, 0)
    for _ in range(3):
        with llm_insights.llm_call(provider="openai", model="gpt-4o") as call:
            call.record_usage(input_tokens=value, output_tokens=4)
    mine = [r for r in caplog.records if "record_usage(input_tokens)" in r.getMessage()]
    assert len(mine) == 1, [r.getMessage() for r in mine]  # logged once, naming the field
    assert shown in mine[0].getMessage() and "unknown" in mine[0].getMessage()
    assert not mine[0].exc_info  # bad data, not a bug: no traceback
    assert _guard.error_counts()[c.SDK_COMPONENT_USAGE_INVALID] == before + 3
    assert telemetry.total(c.SDK_ERRORS.name, llm_insights__sdk__component="usage.invalid") == 3
    for span in telemetry.spans():  # degraded to unknown, never a wrong number
        assert c.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
        assert span.attributes[c.GEN_AI_USAGE_OUTPUT_TOKENS] == 4
    assert sum(p.sum for p in telemetry.points(c.TOKEN_USAGE.name)) == 12


def test_valid_and_missing_usage_is_not_counted_invalid(telemetry):
    before = _guard.error_counts().get(c.SDK_COMPONENT_USAGE_INVALID, 0)
    with llm_insights.llm_call(provider="openai", model="gpt-4o") as call:
        call.record_usage(input_tokens=10.0, output_tokens=None, cached_input_tokens=0)
    assert _guard.error_counts().get(c.SDK_COMPONENT_USAGE_INVALID, 0) == before
    assert telemetry.total(c.SDK_ERRORS.name) == 0


def test_invalid_usage_from_the_real_client_names_the_response_field(
    telemetry, openai_client, stand, caplog
):
    caplog.set_level("WARNING", logger="llm_insights")
    stand.script(Scripted(input_tokens=7, output_tokens=-1))
    llm_insights.instrument_openai()
    openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    assert "usage.completion_tokens" in caplog.text
    a = telemetry.span().attributes
    assert a[c.GEN_AI_USAGE_INPUT_TOKENS] == 7 and c.GEN_AI_USAGE_OUTPUT_TOKENS not in a
    assert telemetry.total(c.SDK_ERRORS.name, llm_insights__sdk__component="usage.invalid") == 1


def test_failed_call_keeps_error_status_when_later_processing_fails(telemetry, monkeypatch):
    """error.type and the ERROR status go on first: a bug in cost/quality/filter processing
    (caught and counted by the guard) must not ship a failed call's span as a success."""
    from llm_insights import _cost

    def broken(*args, **kwargs):
        raise ZeroDivisionError("bug in cost")

    monkeypatch.setattr(_cost, "compute", broken)
    with (
        pytest.raises(RuntimeError),
        llm_insights.llm_call(provider="openai", model="gpt-4o") as call,
    ):
        call.record_usage(input_tokens=10, output_tokens=5)
        raise RuntimeError("api down")
    span = telemetry.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes[c.ERROR_TYPE] == span.attributes[c.ATTR_ERROR_TYPE] == "RuntimeError"
    assert span.end_time is not None


# -- malformed responses through the real openai client (from tests/badinput) ------------------
def _new_failures(before: dict[str, int]) -> set[str]:
    """SDK failure components counted since *before*, except the (requested) usage.* ones."""
    now = _guard.error_counts()
    return {k for k, v in now.items() if v > before.get(k, 0) and not k.startswith("usage")}


def _token_sums(telemetry: Telemetry) -> dict[str, float]:
    return {p.attributes[c.GEN_AI_TOKEN_TYPE]: p.sum for p in telemetry.points(c.TOKEN_USAGE.name)}


def _raw_usage(inp: str, out: str) -> bytes:
    body = json.dumps(completion(usage={"prompt_tokens": 0, "completion_tokens": 0}))
    return (
        body.replace('"prompt_tokens": 0', f'"prompt_tokens": {inp}')
        .replace('"completion_tokens": 0', f'"completion_tokens": {out}')
        .encode()
    )


# id -> (response body, expected input tokens, expected output tokens)
USAGE_CASES: dict[str, tuple[Any, int | None, int | None]] = {
    "usage-missing": ({k: v for k, v in completion().items() if k != "usage"}, None, None),
    "usage-null": (completion(usage=None), None, None),
    "negative-counts": (_raw_usage("-5", "3"), None, 3),
    "float-counts": (_raw_usage("12.5", "4.0"), None, 4),
    "nan-counts": (_raw_usage("NaN", "Infinity"), None, None),
    "string-counts": (_raw_usage('"12"', '"4"'), None, None),
    "bool-counts": (_raw_usage("true", "false"), None, None),
    "huge-counts": (_raw_usage("1e400", "7"), None, 7),
}


@pytest.mark.parametrize("case", sorted(USAGE_CASES))
@pytest.mark.usefixtures("instrumented_openai")
def test_bad_usage_becomes_unknown(case: str, telemetry: Telemetry) -> None:
    body, want_in, want_out = USAGE_CASES[case]
    before = dict(_guard.error_counts())
    resp = client_answering(body).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert resp.choices[0].message.content == "Take 200 mg."  # the app's data is untouched
    a = telemetry.span().attributes
    assert a.get(c.GEN_AI_USAGE_INPUT_TOKENS) == want_in
    assert a.get(c.GEN_AI_USAGE_OUTPUT_TOKENS) == want_out
    # unknown usage: usage.known=false; known usage: the counts themselves, no flag
    known = want_in is not None or want_out is not None
    assert a.get(c.ATTR_USAGE_KNOWN) is (None if known else False)
    expected = {t: v for t, v in (("input", want_in), ("output", want_out)) if v is not None}
    assert _token_sums(telemetry) == expected  # unknown is never recorded as 0
    assert not _new_failures(before)  # handled as data: nothing inside the SDK broke
    # the duration is counted whatever the usage: the call is never lost
    durations = telemetry.points(c.OPERATION_DURATION.name)
    assert sum(p.count for p in durations) == 1


@pytest.mark.usefixtures("instrumented_openai")
def test_invalid_usage_is_logged_and_counted(telemetry: Telemetry, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="llm_insights")
    before = _guard.error_counts()
    client_answering(_raw_usage("-5", "3")).chat.completions.create(
        model="gpt-4o", messages=MESSAGES
    )
    assert "prompt_tokens" in caplog.text
    after = _guard.error_counts()
    assert any(v > before.get(k, 0) for k, v in after.items() if k.startswith("usage"))


SHAPE_CASES: dict[str, Any] = {
    "choices-null": completion(choices=None),
    "choices-empty": completion(choices=[]),
    "message-null": completion(choices=[{"index": 0, "message": None, "finish_reason": "stop"}]),
    "content-list": completion(  # pydantic warns while dumping it; the client, not the SDK
        choices=[{"index": 0, "message": {"role": "assistant", "content": [1, {"x": 2}]}}]
    ),
    "index-huge": completion(
        choices=[{"index": 10**9, "message": {"role": "assistant", "content": "x"}}]
    ),
    "model-int": completion(model=123),
    "model-null": completion(model=None),
    "id-object": completion(id={"nested": True}),
    "lone-surrogate-text": json.dumps(
        completion(choices=[{"index": 0, "message": {"role": "assistant", "content": "\ud800x"}}])
    ).encode(),
    "finish-reason-object": completion(
        choices=[{"index": 0, "message": {"content": "x"}, "finish_reason": {"a": 1}}]
    ),
}


@pytest.mark.filterwarnings("ignore::UserWarning:pydantic.main")
@pytest.mark.parametrize("case", sorted(SHAPE_CASES))
@pytest.mark.usefixtures("instrumented_openai")
def test_odd_response_shapes_never_raise(case: str, telemetry: Telemetry) -> None:
    llm_insights.configure("svc", capture_content=True)  # the content path sees the odd text too
    client = client_answering(SHAPE_CASES[case])
    try:
        uninstrumented_error = None
        resp = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    except Exception as exc:  # the client's own parsing may reject it: then so must we, unchanged
        uninstrumented_error = exc
    llm_insights.uninstrument_openai()
    try:
        plain = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    except Exception as exc:
        assert type(exc) is type(uninstrumented_error)
        return
    assert uninstrumented_error is None
    assert resp.model_dump() == plain.model_dump()
    span = telemetry.spans()[0]
    assert span.end_time is not None
