"""The kit's ``gen_ai.client.*`` histograms and the view dropping other meters' ones: with the
kit's views in the provider, the kit's instruments take an internal name that view does not
match (so their records skip it) and are exported under the contract name; without them, they
keep the contract name. Either way exactly the kit's records are exported, under the contract
names, and another meter's ``gen_ai.client.*`` records are dropped."""

from __future__ import annotations

from typing import Any

import llm_insights
from llm_insights import contract as c
from llm_insights._metrics import Instruments, internal_name
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

RENAMED = [s for s in c.METRICS if internal_name(s)]
DIMS = {c.GEN_AI_OPERATION_NAME: c.OPERATION_CHAT, c.GEN_AI_REQUEST_MODEL: "gpt-4o"}


def _exported(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                out.setdefault(m.name, []).extend(m.data.data_points)
    return out


def _record_both(views: list[Any]) -> tuple[Instruments, dict[str, list[Any]]]:
    """One record on each kit gen_ai.client.* histogram and on another meter's namesake."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], views=views)
    inst = Instruments(provider)
    other = provider.get_meter("another.instrumentation")
    for spec in RENAMED:
        inst.record_dims(spec, 0.3, DIMS)
        other.create_histogram(spec.name, unit=spec.unit).record(0.3, DIMS)
    return inst, _exported(reader)


def test_the_gen_ai_client_histograms_are_the_ones_renamed():
    assert {s.name for s in RENAMED} >= {c.OPERATION_DURATION.name, c.TOKEN_USAGE.name}
    assert all(s.instrument == "histogram" for s in RENAMED)


def test_with_the_kit_views_its_histograms_skip_the_drop_view_and_export_once():
    inst, got = _record_both(llm_insights.metric_views() + llm_insights.foreign_metric_views())
    for spec in RENAMED:
        assert inst.instrument_name(spec) == internal_name(spec)
        [point] = got[spec.name]  # the kit's record only: the other meter's was dropped
        assert point.count == 1 and dict(point.attributes) == DIMS
        assert tuple(point.explicit_bounds) == tuple(spec.bounds)  # the contract view's
    assert not [n for n in got if n.startswith("llm_insights.gen_ai.")]


def test_without_the_kit_views_the_histograms_keep_the_contract_names():
    reader = InMemoryMetricReader()
    inst = Instruments(MeterProvider(metric_readers=[reader]))
    for spec in RENAMED:
        assert inst.instrument_name(spec) == spec.name
        inst.record_dims(spec, 0.3, DIMS)
    got = _exported(reader)
    assert all(len(got[spec.name]) == 1 for spec in RENAMED)


def test_a_provider_missing_one_renaming_view_renames_nothing():
    views = [
        v for v in llm_insights.metric_views() if v._instrument_name != internal_name(c.TOKEN_USAGE)
    ]
    inst, got = _record_both(views + llm_insights.foreign_metric_views())
    for spec in RENAMED:
        assert inst.instrument_name(spec) == spec.name
        assert sum(p.count for p in got[spec.name]) == 1  # the other meter's still dropped
