"""Content stays private by default; when captured it is redacted first and cut to fit."""

from __future__ import annotations

import json

import llm_insights
import pytest
from llm_insights import _config, _state
from llm_insights import contract as c

PROMPT = [{"role": "user", "content": "My SSN is 123-45-6789"}]


def _call(text="Call me at 555-1234", fail=False, messages=PROMPT):
    try:
        with llm_insights.llm_call(provider="openai", model="gpt-4o", messages=messages) as call:
            call.record_usage(10, 5)
            call.record_completion(text)
            if fail:
                raise RuntimeError("boom")
    except RuntimeError:
        pass


def test_content_not_exported_by_default(telemetry, monkeypatch):
    monkeypatch.delenv(c.ENV_CAPTURE_CONTENT, raising=False)
    llm_insights.configure("svc")
    _call()
    a = telemetry.span().attributes
    assert c.GEN_AI_INPUT_MESSAGES not in a and c.GEN_AI_OUTPUT_MESSAGES not in a
    assert "123-45-6789" not in json.dumps(dict(a))


def test_capture_with_redaction(telemetry):
    llm_insights.configure(
        "svc", capture_content=True, redact=lambda t: t.replace("123-45-6789", "[SSN]")
    )
    _call()
    a = telemetry.span().attributes
    inp = json.loads(a[c.GEN_AI_INPUT_MESSAGES])
    assert inp == [{"role": "user", "parts": [{"type": "text", "content": "My SSN is [SSN]"}]}]
    out = json.loads(a[c.GEN_AI_OUTPUT_MESSAGES])
    assert out[0]["parts"][0]["content"] == "Call me at 555-1234"
    assert out[0]["role"] == "assistant"


def test_capture_enabled_by_env(telemetry, monkeypatch):
    monkeypatch.setenv(c.ENV_CAPTURE_CONTENT, "true")
    llm_insights.configure("svc")
    _call()
    assert c.GEN_AI_INPUT_MESSAGES in telemetry.span().attributes


def test_failing_redactor_never_leaks(telemetry):
    def bad(_text):
        raise ValueError("redactor bug")

    llm_insights.configure("svc", capture_content=True, redact=bad)
    _call()
    a = telemetry.span().attributes
    assert "123-45-6789" not in a[c.GEN_AI_INPUT_MESSAGES]
    assert "[redaction failed]" in a[c.GEN_AI_INPUT_MESSAGES]


def test_long_content_truncated_usage_kept(telemetry):
    llm_insights.configure("svc", capture_content=True)
    _call(text="x" * 50_000, messages=[{"role": "user", "content": "y" * 30_000}])
    span = telemetry.span()
    a = span.attributes
    for key in (c.GEN_AI_INPUT_MESSAGES, c.GEN_AI_OUTPUT_MESSAGES):
        assert len(a[key]) <= c.CONTENT_MAX_CHARS
        json.loads(a[key])  # still valid JSON
    assert a[c.ATTR_CONTENT_TRUNCATED] is True
    keys = list(a.keys())
    # usage attributes come before content, so an exporter that cuts late properties keeps them
    assert keys.index(c.GEN_AI_USAGE_OUTPUT_TOKENS) < keys.index(c.GEN_AI_INPUT_MESSAGES)
    assert telemetry.sum(c.RESPONSE_LENGTH.name) == 50_000  # quality numbers use the full text


def test_capture_only_failed_calls(telemetry):
    llm_insights.configure("svc", capture_content="on_error", content_sample_rate=1.0)
    _call()
    _call(fail=True)
    ok, failed = sorted(telemetry.spans(), key=lambda s: c.ERROR_TYPE in s.attributes)
    assert c.GEN_AI_INPUT_MESSAGES not in ok.attributes
    assert c.GEN_AI_INPUT_MESSAGES in failed.attributes


def test_capture_on_error_sampled_out(telemetry):
    llm_insights.configure("svc", capture_content="on_error", content_sample_rate=0.0)
    _call(fail=True)
    assert c.GEN_AI_INPUT_MESSAGES not in telemetry.span().attributes


def test_feedback_comment_only_with_capture(telemetry):
    llm_insights.configure("svc")
    llm_insights.record_feedback("r1", 1, comment="the bot was rude")
    assert c.GEN_AI_EVALUATION_EXPLANATION not in telemetry.logs()[0].log_record.attributes
    llm_insights.configure("svc", capture_content=True, redact=str.upper)
    llm_insights.record_feedback("r2", 1, comment="the bot was rude")
    attrs = telemetry.logs()[1].log_record.attributes
    assert attrs[c.GEN_AI_EVALUATION_EXPLANATION] == "THE BOT WAS RUDE"


def test_invalid_capture_setting_strict_raises(telemetry):
    with pytest.raises(llm_insights.ConfigurationError, match="capture_content"):
        llm_insights.configure("svc", capture_content="sometimes", strict=True)
    assert llm_insights.configure("svc", capture_content="sometimes") is False  # logged
    assert _state.settings.capture_content == _state.CONTENT_OFF
    _config._reset_for_tests()


@pytest.mark.e2e
def test_capture_through_openai_stream(telemetry, stand, openai_client):
    from llm_insights_kit.fake_openai.scripted import Scripted

    llm_insights.configure("svc", capture_content=True)
    llm_insights.instrument_openai()
    stand.script(Scripted(text="streamed answer"))
    messages = [{"role": "user", "content": "question?"}]
    list(openai_client.chat.completions.create(model="gpt-4o", messages=messages, stream=True))
    messages.append({"role": "assistant", "content": "mutated after the call"})
    a = telemetry.span().attributes
    assert "mutated" not in a[c.GEN_AI_INPUT_MESSAGES]
    assert json.loads(a[c.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"] == "question?"
    out = json.loads(a[c.GEN_AI_OUTPUT_MESSAGES])
    assert out == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "streamed answer"}],
            "finish_reason": "stop",
        }
    ]
