"""openai's own ``ChatCompletion`` is read through one typed path (``_record_typed``) that
records exactly what the generic never-raise getters record; anything that model does not
promise falls back to the generic path, which reads and reports it."""

from __future__ import annotations

from typing import Any

import pytest
from llm_insights import _instrument_openai
from llm_insights import contract as c
from llm_insights._call import LLMCall
from openai.types.chat import ChatCompletion

_BODY: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1_760_000_000,
    "model": "gpt-4o-2024-08-06",
    "prompt_filter_results": [
        {
            "prompt_index": 0,
            "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}},
        }
    ],
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Up to 1,200 mg a day."},
            "finish_reason": "stop",
            "content_filter_results": {"violence": {"filtered": True, "severity": "high"}},
        },
        {"index": 1, "message": {"role": "assistant", "content": None}, "finish_reason": "length"},
    ],
    "usage": {
        "prompt_tokens": 412,
        "completion_tokens": 96,
        "total_tokens": 508,
        "prompt_tokens_details": {"cached_tokens": 128, "cache_write_tokens": 7},
        "completion_tokens_details": {"reasoning_tokens": 32},
    },
}


def _call() -> LLMCall:
    return LLMCall(operation=c.OPERATION_CHAT, provider="openai", request_model="gpt-4o")


def _state(call: LLMCall) -> tuple[Any, ...]:
    return (
        call.response_model,
        call.response_id,
        call.usage,
        call.texts,
        call.finish_reasons,
        sorted(call.filters.items(), key=repr),
    )


def _generic(call: LLMCall, resp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(_instrument_openai, "_record_typed", lambda call, resp: False)
        _instrument_openai._record_response(call, resp)


@pytest.mark.usefixtures("telemetry")
def test_typed_path_records_what_the_generic_path_does(monkeypatch: pytest.MonkeyPatch) -> None:
    resp = ChatCompletion.model_validate(_BODY)
    typed, generic = _call(), _call()
    assert _instrument_openai._record_typed(typed, resp)
    _generic(generic, resp, monkeypatch)
    assert _state(typed) == _state(generic)
    assert typed.usage.cache_creation_input_tokens == 7
    assert typed.usage.reasoning_output_tokens == 32
    assert typed.texts == ["Up to 1,200 mg a day.", None]


@pytest.mark.usefixtures("telemetry")
@pytest.mark.parametrize(
    "change",
    [
        {"usage": {"prompt_tokens": "many", "completion_tokens": 2, "total_tokens": 2}},
        {"usage": {"prompt_tokens": 4.0, "completion_tokens": -1, "total_tokens": 2}},
        {"choices": [{"index": 0, "message": "not a message", "finish_reason": "stop"}]},
    ],
)
def test_anything_unexpected_takes_the_generic_path(
    change: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    resp = ChatCompletion.model_construct(**{**_BODY, **change})
    assert not _instrument_openai._record_typed(_call(), resp)
    through, generic = _call(), _call()
    _instrument_openai._record_response(through, resp)
    _generic(generic, resp, monkeypatch)
    assert _state(through) == _state(generic)
