"""The catalogs of what the SDK emits, which the kit's query checks read."""

from __future__ import annotations

from llm_insights import contract as c

from llm_insights_kit import emitted


def test_every_attribute_kind_is_listed_once():
    for name in (c.GEN_AI_USAGE_INPUT_TOKENS, c.MS_COST_INPUT, c.ATTR_STREAM_END, c.ERROR_TYPE):
        assert name in emitted.ATTRIBUTES
    assert len(emitted.ATTRIBUTES) == len(set(emitted.ATTRIBUTES))
    # event names are not attribute keys (some run totals are both a span attribute and a metric)
    assert not set(emitted.ATTRIBUTES) & set(emitted.EVENTS)
    assert c.ATTR_AGENT_COST in emitted.ATTRIBUTES and c.ATTR_AGENT_COST in emitted.METRICS_BY_NAME


def test_every_metric_by_its_name():
    assert [emitted.METRICS_BY_NAME[m.name] for m in c.METRICS] == list(c.METRICS)
    assert len(emitted.METRICS_BY_NAME) == len(c.METRICS)
