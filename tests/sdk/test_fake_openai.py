"""The loopback OpenAI-compatible stand-in keeps its documented API (others depend on it)."""

from __future__ import annotations

import base64
import json
import struct
import urllib.error
import urllib.request

import openai
import pytest

from llm_insights_kit.fake_openai.scripted import BUILTIN_SCENARIOS, Scripted
from llm_insights_kit.fake_openai.server import FakeOpenAI

pytestmark = pytest.mark.e2e
MSG = [{"role": "user", "content": "hello there"}]


def _post(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict, dict]:
    all_headers = {"content-type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def test_priority_header_then_model_then_queue_then_models(stand, openai_client):
    stand.models["m1"] = Scripted(text="from models")
    stand.script(Scripted(text="from queue"))
    r = openai_client.chat.completions.create(
        model="m1", messages=MSG, extra_headers={"x-standin-scenario": "refusal"}
    )
    assert r.choices[0].message.content == BUILTIN_SCENARIOS["refusal"].text
    r = openai_client.chat.completions.create(model="standin-hallucination", messages=MSG)
    assert r.choices[0].message.content == BUILTIN_SCENARIOS["hallucination"].text
    assert (
        openai_client.chat.completions.create(model="m1", messages=MSG).choices[0].message.content
        == "from queue"
    )
    assert (
        openai_client.chat.completions.create(model="m1", messages=MSG).choices[0].message.content
        == "from models"
    )
    assert [r.scenario for r in stand.requests] == ["refusal", "hallucination", None, None]


def test_usage_defaults_and_scripted_tokens(stand, openai_client):
    stand.script(Scripted(text="a b c"), Scripted(input_tokens=5, output_tokens=0, cached_tokens=2))
    u = openai_client.chat.completions.create(model="x", messages=MSG).usage
    assert u.completion_tokens == 3 and u.prompt_tokens >= 1
    u = openai_client.chat.completions.create(model="x", messages=MSG).usage
    assert (u.prompt_tokens, u.completion_tokens, u.prompt_tokens_details.cached_tokens) == (
        5,
        0,
        2,
    )


def test_stream_usage_only_when_requested(stand):
    def chunks(options):
        body = {"model": "x", "messages": MSG, "stream": True}
        if options is not None:
            body["stream_options"] = options
        req = urllib.request.Request(
            f"{stand.base_url}/chat/completions",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            lines = [ln for ln in resp.read().decode().splitlines() if ln.startswith("data: ")]
        assert lines[-1] == "data: [DONE]"
        return [json.loads(ln[6:]) for ln in lines[:-1]]

    plain = chunks(None)
    assert all("usage" not in ch for ch in plain)
    with_usage = chunks({"include_usage": True})
    assert with_usage[-1]["choices"] == [] and with_usage[-1]["usage"]["completion_tokens"] > 0


def test_errors_are_openai_shaped(stand):
    status, headers, body = _post(
        f"{stand.base_url}/chat/completions",
        {"model": "x", "messages": MSG},
        {"x-standin-scenario": "rate_limit"},
    )
    assert status == 429 and headers["retry-after"] == "1"
    assert body["error"]["code"] == "rate_limit_exceeded"
    status, _, body = _post(
        f"{stand.azure_endpoint}/openai/deployments/d/chat/completions?api-version=2024-10-21",
        {"messages": MSG},
        {"x-standin-scenario": "content_filter_prompt"},
    )
    assert status == 400 and body["error"]["code"] == "content_filter"
    assert body["error"]["innererror"]["content_filter_result"]["violence"]["filtered"] is True
    status, _, _ = _post(f"{stand.url}/nope", {})
    assert status == 404


def test_azure_routes_filters_and_deployment_model(stand, azure_client):
    r = azure_client.chat.completions.create(model="chat-prod", messages=MSG)
    assert r.model == "gpt-4o-2024-08-06"
    assert r.prompt_filter_results[0]["content_filter_results"]["hate"]["severity"] == "safe"
    req = stand.requests[-1]
    assert req.deployment == "chat-prod" and req.query["api-version"] == ["2024-10-21"]


def test_embeddings_base64_and_float(stand, openai_client):
    r = openai_client.embeddings.create(model="e", input=["x", "y", "z"])  # client sends base64
    assert len(r.data) == 3 and len(r.data[0].embedding) == 8
    status, _, body = _post(
        f"{stand.base_url}/embeddings", {"model": "e", "input": "x", "encoding_format": "base64"}
    )
    assert status == 200
    vec = struct.unpack("<8f", base64.b64decode(body["data"][0]["embedding"]))
    assert vec == pytest.approx(r.data[0].embedding)


def test_latency_is_scripted(stand, openai_client):
    import time

    stand.script(Scripted(latency=0.2))
    t0 = time.perf_counter()
    openai_client.chat.completions.create(model="x", messages=MSG)
    assert time.perf_counter() - t0 >= 0.2


def test_standalone_lifecycle():
    srv = FakeOpenAI().start()
    try:
        client = openai.OpenAI(base_url=srv.base_url, api_key="t", max_retries=0)
        assert client.chat.completions.create(model="x", messages=MSG).choices
    finally:
        srv.stop()
