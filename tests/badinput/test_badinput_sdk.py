"""Malformed LLM responses and SDK inputs, through the real openai client: the app gets exactly
what the client returns, never an SDK exception; bad values degrade to *unknown* (not zero)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import llm_insights
import pytest
from llm_insights import _guard
from llm_insights import contract as c

from .conftest import MESSAGES, client_answering, completion


def _span(pipeline) -> Any:
    spans = pipeline.spans.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def _new_failures(before: dict[str, int]) -> set[str]:
    """SDK failure components counted since *before*, except the (requested) usage.* ones."""
    now = _guard.error_counts()
    return {k for k, v in now.items() if v > before.get(k, 0) and not k.startswith("usage")}


def _token_sums(pipeline) -> dict[str, float]:
    return {
        p.attributes[c.GEN_AI_TOKEN_TYPE]: p.sum
        for p in pipeline.points().get(c.TOKEN_USAGE.name, [])
    }


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
def test_bad_usage_becomes_unknown(case: str, pipeline) -> None:
    body, want_in, want_out = USAGE_CASES[case]
    before = dict(_guard.error_counts())
    resp = client_answering(body).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert resp.choices[0].message.content == "Take 200 mg."  # the app's data is untouched
    a = _span(pipeline).attributes
    assert a.get(c.GEN_AI_USAGE_INPUT_TOKENS) == want_in
    assert a.get(c.GEN_AI_USAGE_OUTPUT_TOKENS) == want_out
    # unknown usage: usage.known=false; known usage: the counts themselves, no flag
    known = want_in is not None or want_out is not None
    assert a.get(c.ATTR_USAGE_KNOWN) is (None if known else False)
    expected = {t: v for t, v in (("input", want_in), ("output", want_out)) if v is not None}
    assert _token_sums(pipeline) == expected  # unknown is never recorded as 0
    assert not _new_failures(before)  # handled as data: nothing inside the SDK broke
    # the duration is counted whatever the usage: the call is never lost
    durations = pipeline.points()[c.OPERATION_DURATION.name]
    assert sum(p.count for p in durations) == 1


def test_invalid_usage_is_logged_and_counted(pipeline, caplog) -> None:
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
def test_odd_response_shapes_never_raise(case: str, pipeline) -> None:
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
    span = pipeline.spans.get_finished_spans()[0]
    assert span.end_time is not None


def test_unknown_model_is_counted_unpriced_not_zero_cost(pipeline) -> None:
    client_answering(completion(model="acme-llm-9")).chat.completions.create(
        model="acme-llm-9", messages=MESSAGES
    )
    a = _span(pipeline).attributes
    assert a[c.ATTR_UNPRICED] is True
    assert c.MS_COST_INPUT not in a and c.MS_COST_OUTPUT not in a
    points = pipeline.points()
    assert sum(p.value for p in points[c.UNPRICED_CALLS.name]) == 1
    assert c.COST.name not in points


# -- price tables: a logged degradation naming the file and field; shipped prices kept ---------
PRICE_CASES: dict[str, tuple[bytes, str]] = {
    "not-json": (b"{models: nope", "unreadable"),
    "not-utf8": (b'{"models": {"x": {"input": 1}}, "note": "\xff"}', "unreadable"),
    "negative-price": (b'{"models": {"gpt-x": {"input": -1, "output": 2}}}', "models.gpt-x"),
    "string-price": (b'{"models": {"gpt-x": {"input": "0.01"}}}', "models.gpt-x"),
    "nan-price": (b'{"models": {"gpt-x": {"input": NaN}}}', "models.gpt-x"),
    "missing-input": (b'{"models": {"gpt-x": {"output": 0.01}}}', "models.gpt-x"),
    "models-not-mapping": (b'{"models": [1, 2]}', "models"),
}


@pytest.mark.parametrize("case", sorted(PRICE_CASES))
def test_bad_price_file_is_named_and_shipped_prices_kept(
    case: str, tmp_path: Path, monkeypatch, caplog
) -> None:
    from llm_insights import _cost

    content, fragment = PRICE_CASES[case]
    path = tmp_path / "prices.json"
    path.write_bytes(content)
    monkeypatch.setenv(c.ENV_PRICES_FILE, str(path))
    caplog.set_level(logging.WARNING, logger="llm_insights")
    table = _cost.load()
    assert str(path) in caplog.text, caplog.text
    assert fragment in caplog.text, caplog.text
    assert table.resolve("gpt-4o") is not None  # the shipped table still prices known models
    assert table.resolve("gpt-x") is None


def test_missing_price_file_is_named(tmp_path: Path, monkeypatch, caplog) -> None:
    from llm_insights import _cost

    missing = tmp_path / "nope.json"
    monkeypatch.setenv(c.ENV_PRICES_FILE, str(missing))
    caplog.set_level(logging.WARNING, logger="llm_insights")
    assert _cost.load().resolve("gpt-4o") is not None
    assert str(missing) in caplog.text
