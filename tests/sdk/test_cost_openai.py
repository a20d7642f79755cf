"""Cost truth through the real openai client and the loopback stand-in: the served model, the
model router, reasoning/cache/audio tokens, the deployment map (Data Zone, PTU) on the span and
the metrics."""

from __future__ import annotations

import json

import llm_insights
import pytest
from llm_insights import _price_table
from llm_insights import contract as c

from llm_insights_kit.fake_openai.scripted import Scripted

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("instrumented_openai")]
MSG = [{"role": "user", "content": "hi"}]
SOURCE = _price_table.shipped().source


def test_unknown_served_model_is_unpriced_not_priced_as_the_request(
    telemetry, stand, openai_client
):
    stand.script(Scripted(model="gpt-4o-secret-preview", input_tokens=1000, output_tokens=10))
    openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    a = telemetry.span().attributes
    assert a[c.ATTR_UNPRICED] is True and c.MS_COST_INPUT not in a and c.MS_COST_OUTPUT not in a
    assert "'gpt-4o-secret-preview'" in a[c.ATTR_UNPRICED_REASON]
    assert telemetry.total(c.UNPRICED_CALLS.name, gen_ai__response__model="gpt-4o-secret-preview")
    assert telemetry.points(c.COST.name) == []
    assert a[c.GEN_AI_USAGE_INPUT_TOKENS] == 1000  # counted all the same


def test_model_router_priced_per_served_model(telemetry, stand, azure_client):
    stand.script(
        Scripted(model="gpt-4.1-nano-2025-04-14", input_tokens=1000, output_tokens=100),
        Scripted(model="o4-mini-2025-04-16", input_tokens=1000, output_tokens=100),
    )
    for _ in range(2):
        azure_client.chat.completions.create(model="model-router", messages=MSG)
    costs = {
        s.attributes[c.GEN_AI_RESPONSE_MODEL]: s.attributes[c.MS_COST_INPUT]
        + s.attributes[c.MS_COST_OUTPUT]
        for s in telemetry.spans()
    }
    assert costs == {
        "gpt-4.1-nano-2025-04-14": pytest.approx((1000 * 0.1 + 100 * 0.4) / 1e6, abs=1e-12),
        "o4-mini-2025-04-16": pytest.approx((1000 * 1.1 + 100 * 4.4) / 1e6, abs=1e-12),
    }
    assert all(s.attributes[c.ATTR_DEPLOYMENT] == "model-router" for s in telemetry.spans())
    assert all(s.attributes[c.ATTR_PRICE_SOURCE] == SOURCE for s in telemetry.spans())


def test_reasoning_tokens_recorded_and_priced_as_output_once(telemetry, stand, openai_client):
    stand.script(
        Scripted(model="o4-mini", input_tokens=100, output_tokens=1500, reasoning_tokens=1200)
    )
    openai_client.chat.completions.create(model="o4-mini", messages=MSG)
    a = telemetry.span().attributes
    assert a[c.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 1200
    assert a[c.GEN_AI_USAGE_OUTPUT_TOKENS] == 1500
    assert a[c.MS_COST_OUTPUT] == pytest.approx(1500 * 4.4 / 1e6, abs=1e-12)
    [out] = [
        p.sum
        for p in telemetry.points(c.TOKEN_USAGE.name)
        if p.attributes[c.GEN_AI_TOKEN_TYPE] == c.TOKEN_TYPE_OUTPUT
    ]
    assert out == 1500  # reasoning tokens are not added on top


def test_responses_api_reasoning_tokens(telemetry, stand, openai_client):
    stand.script(Scripted(model="o3", input_tokens=10, output_tokens=700, reasoning_tokens=640))
    openai_client.responses.create(model="o3", input="hi")
    a = telemetry.span().attributes
    assert a[c.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 640
    assert a[c.MS_COST_OUTPUT] == pytest.approx(700 * 8 / 1e6, abs=1e-12)


def test_cached_and_cache_write_tokens(telemetry, stand, openai_client):
    stand.script(
        Scripted(model="gpt-4o", input_tokens=10_000, output_tokens=0, cached_tokens=6000,
                 cache_write_tokens=1000)
    )  # fmt: skip
    openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    a = telemetry.span().attributes
    assert a[c.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 6000
    assert a[c.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 1000
    # gpt-4o has no cache-write rate: billed as input; cached at $1.25
    expected = (3000 * 2.5 + 6000 * 1.25 + 1000 * 2.5) / 1e6
    assert a[c.MS_COST_INPUT] == pytest.approx(expected, abs=1e-12)


def test_audio_tokens_without_a_rate_leave_the_call_partly_unpriced(
    telemetry, stand, openai_client
):
    stand.script(
        Scripted(model="gpt-4o-audio-preview", input_tokens=1000, output_tokens=100,
                 input_audio_tokens=400)
    )  # fmt: skip
    openai_client.chat.completions.create(model="gpt-4o-audio-preview", messages=MSG)
    a = telemetry.span().attributes
    assert a[c.ATTR_COST_PARTIAL] is True and c.ATTR_UNPRICED not in a
    assert "400 input_audio tokens" in a[c.ATTR_UNPRICED_REASON]
    assert a[c.MS_COST_INPUT] == pytest.approx(600 * 2.5 / 1e6, abs=1e-12)
    assert telemetry.total(c.UNPRICED_CALLS.name) == 1


def test_provisioned_deployment_keeps_tokens_and_has_no_per_token_cost(
    telemetry, stand, azure_client
):
    llm_insights.configure(
        "svc", deployments={"chat-prod": {"model": "gpt-4o", "type": "ProvisionedManaged"}}
    )
    stand.script(Scripted(input_tokens=1000, output_tokens=100))
    azure_client.chat.completions.create(model="chat-prod", messages=MSG)
    a = telemetry.span().attributes
    assert a[c.ATTR_PROVISIONED] is True and a[c.ATTR_DEPLOYMENT_TYPE] == "ProvisionedManaged"
    assert c.MS_COST_INPUT not in a and c.ATTR_UNPRICED not in a
    assert telemetry.points(c.COST.name) == [] and telemetry.points(c.UNPRICED_CALLS.name) == []
    [tokens_in] = [
        p.sum
        for p in telemetry.points(c.TOKEN_USAGE.name)
        if p.attributes[c.GEN_AI_TOKEN_TYPE] == c.TOKEN_TYPE_INPUT
        and p.attributes[c.ATTR_DEPLOYMENT_TYPE] == "ProvisionedManaged"
    ]
    assert tokens_in == 1000


def test_data_zone_deployment_from_the_environment(telemetry, stand, azure_client, monkeypatch):
    monkeypatch.setenv(
        c.ENV_PRICING_DEPLOYMENTS,
        json.dumps({"chat-prod": {"model": "gpt-4o", "type": "DataZoneStandard"}}),
    )
    stand.script(Scripted(input_tokens=1000, output_tokens=100))
    azure_client.chat.completions.create(model="chat-prod", messages=MSG)
    a = telemetry.span().attributes
    # the shipped source has Global prices only: unpriced, never the Global price
    assert a[c.ATTR_UNPRICED] is True and "DataZoneStandard price" in a[c.ATTR_UNPRICED_REASON]
    llm_insights.configure(
        "svc",
        prices={"version": "contoso-2026-11", "unit": "per 1M tokens", "models": {
            "gpt-4o": {"input": 2.5, "output": 10, "data_zone": {"input": 2.75, "output": 11}}}},
    )  # fmt: skip
    stand.script(Scripted(input_tokens=1000, output_tokens=100))
    azure_client.chat.completions.create(model="chat-prod", messages=MSG)
    a = telemetry.spans()[-1].attributes
    assert a[c.MS_COST_INPUT] + a[c.MS_COST_OUTPUT] == pytest.approx(
        (1000 * 2.75 + 100 * 11) / 1e6, abs=1e-12
    )
    assert a[c.ATTR_PRICE_SOURCE] == "override contoso-2026-11"
    assert telemetry.total(c.COST.name, llm_insights__deployment__type="DataZoneStandard") > 0


def test_bad_deployment_map_in_configure_names_the_key(telemetry, caplog):
    bad = {"x": {"model": "gpt-4o", "type": "PTU"}}
    with pytest.raises(llm_insights.ConfigurationError, match=r"deployments=\.\.\.\)\.x\.type"):
        llm_insights.configure("svc", deployments=bad, strict=True)
    assert llm_insights.configure("svc", deployments=bad) is False  # never raises into the app
    assert "'PTU' is not allowed; allowed: GlobalStandard" in caplog.text
