"""price_call(): the served model decides, tokens as billed, effective dates, deployment types."""

from __future__ import annotations

import datetime as dt

import pytest
from llm_insights import _cost, _price_table
from llm_insights import contract as c

TABLE = _price_table.shipped()
DAY = dt.date(2026, 11, 1)


def price(served, request="gpt-4o", usage=None, **kw):
    kw.setdefault("when", DAY)
    return _cost.price_call(
        kw.pop("table", TABLE),
        served_model=served,
        request_model=request,
        deployment=kw.pop("deployment", None),
        usage=usage or _cost.Usage(1000, 100),
        **kw,
    )


def test_served_model_decides_the_price():
    p = price("gpt-4o-mini-2024-07-18", request="gpt-4o")
    assert p.model == "gpt-4o-mini-2024-07-18"
    assert p.cost.input == pytest.approx(1000 * 0.15 / 1e6)
    assert p.cost.output == pytest.approx(100 * 0.6 / 1e6)
    assert p.source == TABLE.source and not p.unpriced


def test_unpriced_served_model_is_never_priced_as_the_request_model():
    p = price("acme-secret-model", request="gpt-4o", deployment="gpt-4o")
    assert p.cost is None and p.unpriced and p.model == "acme-secret-model"
    assert "acme-secret-model" in p.unpriced_reason and TABLE.source in p.unpriced_reason


def test_request_model_only_when_the_response_names_none():
    assert price(None, request="gpt-4o").model == "gpt-4o"
    assert price(None, request="gpt-4o").cost.total == pytest.approx((1000 * 2.5 + 100 * 10) / 1e6)
    assert price(None, request=None).unpriced_reason == "no model named"


def test_deployment_map_model_before_the_request_model():
    deployments = {"chat-prod": _cost.Deployment("gpt-4.1", c.DEPLOYMENT_TYPE_GLOBAL_STANDARD)}
    p = price(None, request="chat-prod", deployment="chat-prod", deployments=deployments)
    assert p.model == "gpt-4.1" and p.deployment_type == "GlobalStandard"
    assert p.cost.total == pytest.approx((1000 * 2 + 100 * 8) / 1e6)
    # ...and the served model still wins over the map
    p = price("gpt-4.1-mini", request="chat-prod", deployment="chat-prod", deployments=deployments)
    assert p.model == "gpt-4.1-mini"


def test_model_router_is_priced_per_served_model():
    costs = {m: price(m, request="model-router", deployment="model-router").cost.total
             for m in ("gpt-4.1-nano", "o4-mini", "gpt-5")}  # fmt: skip
    assert costs["gpt-4.1-nano"] == pytest.approx((1000 * 0.1 + 100 * 0.4) / 1e6)
    assert costs["o4-mini"] == pytest.approx((1000 * 1.1 + 100 * 4.4) / 1e6)
    assert costs["gpt-5"] == pytest.approx((1000 * 1.25 + 100 * 10) / 1e6)
    assert price(None, request="model-router").unpriced  # no served model, no guess


def test_prices_are_effective_dated():
    # o3: $10/$40 per 1M until 2025-06-09, $2/$8 from 2025-06-10 (genai-prices)
    before = price("o3", when=dt.date(2025, 6, 9)).cost.total
    after = price("o3", when=dt.datetime(2025, 6, 10, 0, 0, 1, tzinfo=dt.UTC)).cost
    assert before == pytest.approx((1000 * 10 + 100 * 40) / 1e6)
    assert after.total == pytest.approx((1000 * 2 + 100 * 8) / 1e6)
    epoch = dt.datetime(2025, 6, 9, 23, 59, tzinfo=dt.UTC).timestamp()
    assert price("o3", when=epoch).cost.total == pytest.approx(before)


def test_reasoning_tokens_are_output_tokens_priced_once():
    usage = _cost.Usage(1000, 1500, reasoning_output_tokens=1200)
    p = price("o4-mini", usage=usage)
    assert p.cost.output == pytest.approx(1500 * 4.4 / 1e6)  # not (1500 + 1200)


def test_cached_and_cache_write_tokens_at_their_rates():
    usage = _cost.Usage(10_000, 0, cache_read_input_tokens=6000, cache_creation_input_tokens=1000)
    p = price("gpt-4o", usage=usage)  # no cache-write rate: billed as input
    assert p.cost.input == pytest.approx((3000 * 2.5 + 6000 * 1.25 + 1000 * 2.5) / 1e6)
    table = _price_table.load(
        {
            "unit": "per 1M tokens",
            "models": {
                "acme": {"input": 3, "output": 15, "cached_input": 0.3, "cache_write": 3.75}
            },
        }
    )
    p = price("acme", usage=usage, table=table)
    assert p.cost.input == pytest.approx((3000 * 3 + 6000 * 0.3 + 1000 * 3.75) / 1e6)
    assert p.source == "override configure(prices=...)"


def test_audio_tokens_at_their_rate_or_the_call_is_partly_unpriced():
    usage = _cost.Usage(1000, 500, input_audio_tokens=400, output_audio_tokens=300)
    p = price("gpt-realtime", usage=usage)  # has audio rates: $32 / $64 per 1M
    assert p.cost.input == pytest.approx((600 * 4 + 400 * 32) / 1e6)
    assert p.cost.output == pytest.approx((200 * 16 + 300 * 64) / 1e6)
    assert not p.partial
    p = price("gpt-4o-audio-preview", usage=usage)  # the source lists no audio rate
    assert p.partial and not p.unpriced
    assert "400 input_audio tokens" in p.unpriced_reason
    assert "300 output_audio tokens" in p.unpriced_reason
    assert p.cost.input == pytest.approx(600 * 2.5 / 1e6)  # the text part only, never audio=0


def test_context_tiers_price_the_whole_call_at_the_tier():
    table = _price_table.load(
        {
            "unit": "per 1M tokens",
            "models": {
                "longctx": {
                    "input": {"base": 1, "tiers": [[200_000, 2]]},
                    "output": {"base": 5, "tiers": [[200_000, 10]]},
                }
            },
        }
    )
    small = price("longctx", usage=_cost.Usage(200_000, 10), table=table).cost.total
    big = price("longctx", usage=_cost.Usage(200_001, 10), table=table).cost.total
    assert small == pytest.approx((200_000 * 1 + 10 * 5) / 1e6)
    assert big == pytest.approx((200_001 * 2 + 10 * 10) / 1e6)


def test_deployment_types_are_priced_apart():
    dz = {"eu-chat": _cost.Deployment("gpt-4o", c.DEPLOYMENT_TYPE_DATA_ZONE_STANDARD)}
    # the source has Global prices only: a Data Zone call is unpriced, never priced as Global
    p = price("gpt-4o-2024-11-20", request="eu-chat", deployment="eu-chat", deployments=dz)
    assert p.unpriced and "DataZoneStandard price" in p.unpriced_reason
    table = _price_table.load(
        {
            "unit": "per 1M tokens",
            "models": {
                "gpt-4o": {
                    "input": 2.5,
                    "output": 10,
                    "cached_input": 1.25,
                    "data_zone": {"input": 2.75, "output": 11},
                }
            },
        }
    )
    p = price(
        "gpt-4o-2024-11-20", request="eu-chat", deployment="eu-chat", deployments=dz, table=table
    )
    assert p.cost.total == pytest.approx((1000 * 2.75 + 100 * 11) / 1e6)
    assert p.deployment_type == "DataZoneStandard"


def test_global_batch_at_the_batch_rate_from_its_start_date():
    batch = {"nightly": _cost.Deployment("gpt-4o", c.DEPLOYMENT_TYPE_GLOBAL_BATCH)}
    usage = _cost.Usage(1000, 100, cache_read_input_tokens=200)
    p = price("gpt-4o", request="nightly", deployments=batch, usage=usage, when=DAY)
    # batch $1.25/$5; the batch table has no cached rate, so cached input keeps $1.25 standard
    assert p.cost.input == pytest.approx((800 * 1.25 + 200 * 1.25) / 1e6)
    assert p.cost.output == pytest.approx(100 * 5 / 1e6)
    early = price("gpt-4o", request="nightly", deployments=batch, when=dt.date(2026, 1, 1))
    assert early.unpriced and "GlobalBatch price" in early.unpriced_reason


@pytest.mark.parametrize("sku", c.DEPLOYMENT_TYPES_PROVISIONED)
def test_provisioned_deployments_have_no_per_token_cost(sku):
    ptu = {"ptu-chat": _cost.Deployment("gpt-4o", sku)}
    p = price("gpt-4o", request="ptu-chat", deployment="ptu-chat", deployments=ptu)
    assert p.provisioned and p.cost is None and not p.unpriced and p.unpriced_reason is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a"]', "must be a mapping"),
        ({"d": {"model": "gpt-4o", "type": "Global"}},
         "X.d.type: 'Global' is not allowed; allowed: GlobalStandard"),
        ({"d": {"model": "gpt-4o"}}, "X.d.type: None is not allowed"),
        ({"d": {"model": "", "type": "Standard"}}, "X.d.model: must be a model name"),
        ({"d": {"type": "Standard", "sku": 1}}, "X.d: unknown keys ['sku']"),
        ({"d": "gpt-4o"}, "X.d: must be a mapping"),
    ],
)  # fmt: skip
def test_bad_deployment_maps_name_the_key_and_what_is_allowed(value, message):
    with pytest.raises(ValueError) as err:
        _cost.parse_deployments(value, "X")
    assert message in str(err.value)


def test_deployment_map_from_env(monkeypatch, caplog):
    monkeypatch.setenv(
        c.ENV_PRICING_DEPLOYMENTS, '{"chat": {"model": "gpt-4o", "type": "DataZoneStandard"}}'
    )
    assert _cost.deployments_from_env() == {"chat": _cost.Deployment("gpt-4o", "DataZoneStandard")}
    monkeypatch.setenv(c.ENV_PRICING_DEPLOYMENTS, '{"chat": {"type": "Dz"}}')
    with caplog.at_level("WARNING", logger="llm_insights"):
        assert _cost.deployments_from_env() == {}
    assert c.ENV_PRICING_DEPLOYMENTS in caplog.text and "'Dz' is not allowed" in caplog.text


def test_llm_call_reports_detail_tokens_and_keeps_the_outcome_on_the_call(telemetry):
    import llm_insights

    with llm_insights.llm_call(provider="anthropic", model="acme-claude") as call:
        call.record_response(model="acme-claude-2026-01-01")
        call.record_usage(
            1000, 200, cached_input_tokens=100, cache_creation_input_tokens=300,
            reasoning_output_tokens=150, output_image_tokens=50,
        )  # fmt: skip
    # no price anywhere: unpriced, the reason names the served model
    a = telemetry.span().attributes
    assert a[c.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 300
    assert a[c.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 150
    assert "'acme-claude-2026-01-01'" in a[c.ATTR_UNPRICED_REASON]
    assert call._call.recorded().priced.unpriced and call._call.cost_usd is None
    llm_insights.configure(
        "svc",
        prices={"unit": "per 1M tokens", "models": {"acme-claude": {
            "input": 3, "output": 15, "cached_input": 0.3, "cache_write": 3.75}}},
    )  # fmt: skip
    with llm_insights.llm_call(provider="anthropic", model="acme-claude") as call:
        call.record_response(model="acme-claude-2026-01-01")
        call.record_usage(
            1000, 200, cached_input_tokens=100, cache_creation_input_tokens=300,
            reasoning_output_tokens=150, output_image_tokens=50,
        )  # fmt: skip
    priced = call._call.recorded().priced
    assert priced.partial and "50 output_image tokens" in priced.unpriced_reason
    assert call._call.cost_usd == pytest.approx(
        (600 * 3 + 100 * 0.3 + 300 * 3.75 + 150 * 15) / 1e6  # the image tokens: no rate
    )
    a = telemetry.spans()[-1].attributes
    assert a[c.ATTR_COST_PARTIAL] is True and a[c.ATTR_PRICE_SOURCE].startswith("override")
