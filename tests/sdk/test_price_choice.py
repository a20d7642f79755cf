"""``_pricing.price`` keeps the price chosen per (model names, provider, UTC day): every answer
equals the pure rule's (``_cost.price_call``), across days, usages and a replaced table or map."""

from __future__ import annotations

import datetime as dt

import pytest
from llm_insights import _cost, _price_table, _pricing, _record, _state
from llm_insights import contract as c


@pytest.fixture(autouse=True)
def _fresh_settings():
    _state.reset()
    yield
    _state.reset()


def _call(served: str | None, usage: _cost.Usage, when: float, **kw) -> _record.Call:
    return _record.Call(
        operation=c.OPERATION_CHAT,
        provider=kw.get("provider", c.PROVIDER_OPENAI),
        request_model=kw.get("request", served),
        response_model=served,
        deployment=kw.get("deployment"),
        usage=usage,
        started_at=when,
    )


def _rule(call: _record.Call) -> _cost.Priced:
    return _cost.price_call(
        _state.settings.prices,
        served_model=call.response_model,
        request_model=call.request_model,
        deployment=call.deployment,
        usage=call.usage,
        when=call.started_at,
        provider=call.provider,
        deployments=_pricing.deployments(),
    )


def _epoch(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


def test_every_answer_equals_the_rule_across_days_and_usages():
    # o3 changed price at 2025-06-10 00:00 UTC (genai-prices): the last second of the 9th and
    # the first of the 10th must each get their own day's price, however often asked
    whens = [_epoch(2025, 6, 9, 23, 59, 59), _epoch(2025, 6, 10, 0, 0, 0), _epoch(2026, 1, 2)]
    usages = [
        _cost.Usage(1000, 100),
        _cost.Usage(10, 1, cache_read_input_tokens=5),
        _cost.Usage(412, 96, cache_read_input_tokens=128, cache_creation_input_tokens=64),
        _cost.Usage(100, 0, cache_read_input_tokens=500),  # more cached than input: capped
        _cost.Usage(None, 7),
        _cost.Usage(300_000, 50, cache_read_input_tokens=1000),  # past a context tier
        _cost.Usage(200, 30, input_audio_tokens=50, output_audio_tokens=10),
        _cost.Usage(200, 30, reasoning_output_tokens=20),
    ]
    # flat and context-tiered prices (gpt-5.4), with and without cache-read rates
    models = [
        "o3",
        "gpt-4o",
        "gpt-4o-2024-08-06",
        "gpt-5.4",
        "gpt-4o-audio-preview",
        "no-such-model",
        None,
    ]
    for _ in range(2):  # the second pass answers from what the first kept
        for when in whens:
            for usage in usages:
                for model in models:
                    call = _call(model, usage, when)
                    assert _pricing.price(call) == _rule(call), (model, when, usage)
    day9 = _pricing.price(_call("o3", usages[0], whens[0])).cost.total
    day10 = _pricing.price(_call("o3", usages[0], whens[1])).cost.total
    assert day9 == pytest.approx((1000 * 10 + 100 * 40) / 1e6)
    assert day10 == pytest.approx((1000 * 2 + 100 * 8) / 1e6)


def test_a_replaced_price_table_prices_the_next_call():
    call = _call("acme-llm", _cost.Usage(1000, 1000), _epoch(2026, 12, 7))
    assert _pricing.price(call).unpriced  # not in the shipped table
    _state.settings.prices = _price_table.load({"models": {"acme-llm": {"input": 1, "output": 2}}})
    assert _pricing.price(call).cost == _cost.Cost(1.0, 2.0)
    _state.settings.prices = _price_table.load({"models": {"acme-llm": {"input": 3, "output": 4}}})
    assert _pricing.price(call).cost == _cost.Cost(3.0, 4.0)


def test_a_replaced_deployment_map_prices_the_next_call():
    call = _call("gpt-4o", _cost.Usage(1000, 100), _epoch(2026, 12, 7), deployment="chat")
    standard = _pricing.price(call)
    assert standard.cost is not None and not standard.provisioned
    _state.settings.deployments = {"chat": _cost.Deployment("gpt-4o", "ProvisionedManaged")}
    assert _pricing.price(call).provisioned  # billed by the hour now: no per-token cost
    assert _pricing.price(call) == _rule(call)


def test_a_call_without_an_epoch_time_is_priced_by_the_rule():
    call = _call("gpt-4o", _cost.Usage(1000, 100), _epoch(2026, 12, 7))
    call.started_at = None  # priced as of today
    assert _pricing.price(call) == _rule(call)


def test_a_pricing_failure_keeps_the_calls_counts(telemetry, monkeypatch):
    """Counter adds are summed at once per call: one failing price still counts the call in the
    duration buckets (its duration histogram was recorded before pricing)."""

    def broken(call):
        raise RuntimeError("price table bug")

    monkeypatch.setattr(_pricing, "price", broken)
    call = _call("gpt-4o", _cost.Usage(1000, 100), _epoch(2026, 12, 7))
    call.duration = 0.3
    with pytest.raises(RuntimeError):
        _record.record(call)
    assert telemetry.total(c.DURATION_BUCKET_COUNTS.name) == 1
    assert telemetry.total(c.OPERATION_DURATION.name) == 1
