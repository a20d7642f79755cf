"""``_record.series_of`` keeps a call's metric dimensions per call shape: every kept answer must
equal what the call's own dimensions give (``Instruments.model_dims``), follow a replaced
deployment map or set of instruments at once, and the counter sums keyed by it must export the
same points a fresh series would."""

from __future__ import annotations

import pytest
from llm_insights import _cost, _pricing, _record, _state
from llm_insights import contract as c
from llm_insights._kept import KeptAnswers


@pytest.fixture(autouse=True)
def _fresh_state():
    _state.reset()
    yield
    _state.reset()


def _call(**kw) -> _record.Call:
    fields = {
        "operation": c.OPERATION_CHAT,
        "provider": c.PROVIDER_AZURE_OPENAI,
        "request_model": "gpt-4o",
        "response_model": "gpt-4o-2024-08-06",
        "server_address": "acme.openai.azure.com",
        "deployment": "chat",
        "usage": _cost.Usage(1000, 100),
        "duration": 0.3,
        "started_at": 1_765_000_000.0,
    }
    return _record.Call(**{**fields, **kw})


SHAPES = [
    {},
    {"response_model": None},
    {"request_model": None, "response_model": None},
    {"deployment": None, "provider": c.PROVIDER_OPENAI, "server_address": "api.openai.com"},
    {"operation": c.OPERATION_EMBEDDINGS, "deployment": "embed"},
    {"deployment": "ptu"},
]


def test_every_kept_series_equals_the_calls_own_dimensions():
    _state.settings.deployments = {
        "chat": _cost.Deployment("gpt-4o", "GlobalStandard"),
        "ptu": _cost.Deployment("gpt-4o", "ProvisionedManaged"),
    }
    inst = _state.instruments()
    for _ in range(2):  # the second pass answers from what the first kept
        for shape in SHAPES:
            call = _call(**shape)
            s = _record.series_of(call)
            assert s.dims == inst.model_dims(call.dimensions()), shape
            assert s.items == tuple(s.dims.items())
            assert s.token_dims[c.TOKEN_TYPE_INPUT] == {
                **s.dims,
                c.GEN_AI_TOKEN_TYPE: c.TOKEN_TYPE_INPUT,
            }
    assert _record.series_of(_call()) is _record.series_of(_call())


def test_a_replaced_deployment_map_gives_the_next_call_its_deployment_type():
    _state.settings.deployments = {"chat": _cost.Deployment("gpt-4o", "GlobalStandard")}
    assert _record.series_of(_call()).dims[c.ATTR_DEPLOYMENT_TYPE] == "GlobalStandard"
    _state.settings.deployments = {"chat": _cost.Deployment("gpt-4o", "ProvisionedManaged")}
    assert _record.series_of(_call()).dims[c.ATTR_DEPLOYMENT_TYPE] == "ProvisionedManaged"
    _state.settings.deployments = {}
    assert c.ATTR_DEPLOYMENT_TYPE not in _record.series_of(_call()).dims


def test_new_instruments_get_their_own_series():
    first = _record.series_of(_call())
    _state.reset()  # e.g. configure() again: new providers, new instruments and caps
    assert _record.series_of(_call()) is not first
    assert _record.series_of(_call()).dims == first.dims


def test_kept_series_export_the_points_of_fresh_ones(telemetry):
    """Calls of one shape, failed and not, priced and not: the exported counters equal what
    per-call dimensions give — error type on the failed call's duration bucket only, cost by
    token type and price source."""
    ok = _call()
    failed = _call(error_type="429", usage=_cost.Usage())
    for call in (ok, failed, ok):
        _record.record(call)
    inst = _state.instruments()
    dims = inst.model_dims(ok.dimensions())
    buckets = {
        tuple(sorted(p.attributes.items())): p.value
        for p in telemetry.points(c.DURATION_BUCKET_COUNTS.name)
    }
    le = (c.ATTR_BUCKET_LE, c.bucket_label(0.5))
    assert buckets == {
        tuple(sorted({**dims, le[0]: le[1]}.items())): 2,
        tuple(sorted({**dims, c.ERROR_TYPE: "429", le[0]: le[1]}.items())): 1,
    }
    priced = _pricing.price(ok)
    costs = {
        p.attributes[c.GEN_AI_TOKEN_TYPE]: (p.value, p.attributes)
        for p in telemetry.points(c.COST.name)
    }
    assert costs[c.TOKEN_TYPE_INPUT][0] == pytest.approx(2 * priced.cost.input)
    assert costs[c.TOKEN_TYPE_OUTPUT][0] == pytest.approx(2 * priced.cost.output)
    for _, attrs in costs.values():
        assert {k: v for k, v in attrs.items() if k in dims} == dims
        assert attrs.get(c.ATTR_PRICE_SOURCE) == (priced.source or None)
    durations = telemetry.points(c.OPERATION_DURATION.name)
    assert sorted(p.count for p in durations) == [1, 2]


def test_an_answer_derived_from_replaced_owners_is_not_kept():
    """The race the kept maps guard: owners replaced between deriving an answer and keeping
    it (another thread's configure()) must not leave the stale answer behind."""
    kept = KeptAnswers(limit=2)
    old, new = object(), object()
    assert kept.get("k", old, old) is None
    assert kept.get("k", new, old) is None  # another thread saw the new owners meanwhile
    kept.put("k", "derived from old", old, old)
    assert kept.get("k", new, old) is None
    kept.put("k", "derived from new", new, old)
    assert kept.get("k", new, old) == "derived from new"
    assert kept.get("k", old, old) is None  # owners changed back: a new map
    for key in ("a", "b", "c"):  # bounded: emptied when full
        kept.put(key, key, old, old)
    assert [kept.get(k, old, old) for k in ("a", "b", "c")] == [None, None, "c"]


def test_a_kit_calls_record_value_names_each_field_right():
    """``LLMCall.record_value`` fills ``Call`` by position: every field must land where its
    keyword would put it (distinct values, so a swap shows)."""
    from llm_insights._call import LLMCall

    call = LLMCall(
        operation=c.OPERATION_CHAT,
        provider=c.PROVIDER_AZURE_OPENAI,
        request_model="gpt-4o",
        server_address="acme.openai.azure.com",
        deployment="chat",
        streaming=True,
    )
    call.set_response("gpt-4o-2024-08-06", "chatcmpl-1")
    call.set_usage(1000, 100)
    call.chunk(True)
    call.fail(TimeoutError("slow"))
    call.intervals = [0.01, 0.02]
    end = call.start + 1.5
    value = call.record_value(end)
    assert value == _record.Call(
        operation=c.OPERATION_CHAT,
        provider=c.PROVIDER_AZURE_OPENAI,
        request_model="gpt-4o",
        response_model="gpt-4o-2024-08-06",
        server_address="acme.openai.azure.com",
        deployment="chat",
        usage=call.usage,
        duration=end - call.start,
        ttft=call.ttft,
        chunk_gaps=[0.01, 0.02],
        error_type=call.error_type,
        started_at=call.started_at,
        source=_record.SOURCE_KIT,
    )
    assert value.ttft is not None and value.error_type and value.usage.input_tokens == 1000
    call.finish()
