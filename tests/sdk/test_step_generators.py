"""``@chain``/``@retrieval``/``@tool`` on generator functions: the span covers the iteration."""

from __future__ import annotations

import asyncio
import gc
import time

import llm_insights
import pytest
from llm_insights import contract as c
from opentelemetry import trace


def _seconds(span) -> float:
    return (span.end_time - span.start_time) / 1e9


def test_sync_generator_failure_spans_the_iteration(telemetry):
    @llm_insights.tool("slow_gen")
    def produce():
        yield 1
        time.sleep(0.2)
        raise KeyError("late")

    it = produce()
    assert next(it) == 1
    with pytest.raises(KeyError):
        next(it)
    span = telemetry.span("execute_tool slow_gen")
    assert _seconds(span) >= 0.2
    assert span.status.status_code.name == "ERROR"
    assert span.attributes[c.ERROR_TYPE] == "KeyError"
    [p] = telemetry.points(c.TOOL_DURATION.name)
    assert p.attributes[c.ERROR_TYPE] == "KeyError" and p.sum >= 0.2


def test_sync_generator_nests_children_and_leaves_caller_context(telemetry):
    @llm_insights.chain("streamer")
    def produce():
        with llm_insights.retrieval("kb") as r:
            r.record_documents(count=1)
        x = yield "a"
        yield f"got {x}"
        return "done"

    outside = trace.get_current_span()
    it = produce()
    assert next(it) == "a"
    assert trace.get_current_span() is outside  # not left attached between yields
    assert it.send("b") == "got b"
    with pytest.raises(StopIteration) as stop:
        next(it)
    assert stop.value.value == "done"
    chain = telemetry.span("chain streamer")
    assert telemetry.span("retrieval kb").parent.span_id == chain.context.span_id
    assert chain.status.status_code.name == "UNSET"


def test_sync_generator_closed_early_or_collected_ends_span(telemetry):
    @llm_insights.retrieval("pages")
    def pages():
        yield from range(100)

    it = pages()
    next(it)
    it.close()
    it2 = pages()
    next(it2)
    del it2
    gc.collect()
    spans = telemetry.spans("retrieval pages")
    assert len(spans) == 2
    assert all(s.status.status_code.name == "UNSET" for s in spans)
    assert telemetry.total(c.RETRIEVAL_DURATION.name) == 2


def test_async_generator_failure_and_early_close(telemetry):
    @llm_insights.tool("agen")
    async def produce(fail):
        yield 1
        await asyncio.sleep(0.2)
        if fail:
            raise ValueError("x")
        yield 2

    async def main():
        it = produce(True)
        assert await it.__anext__() == 1
        with pytest.raises(ValueError):
            await it.__anext__()
        it2 = produce(False)
        assert await it2.__anext__() == 1
        await it2.aclose()

    asyncio.run(main())
    failed, closed = sorted(telemetry.spans("execute_tool agen"), key=lambda s: s.start_time)
    assert _seconds(failed) >= 0.2
    assert failed.status.status_code.name == "ERROR"
    assert failed.attributes[c.ERROR_TYPE] == "ValueError"
    assert closed.status.status_code.name == "UNSET"
