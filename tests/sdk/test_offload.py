"""The emit thread: finished calls are recorded off the caller's thread, with nothing
lost — flush()/shutdown() drain it, a burst is bounded (the overflow is recorded by its caller
and counted), and nothing raises into the app."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import llm_insights
import pytest
from llm_insights import _guard, _offload, _state
from llm_insights import contract as c
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Holds the emit thread on a job until set (so calls stay queued)."""
    ev = threading.Event()
    started = threading.Event()

    def hold() -> None:
        started.set()
        ev.wait(10)

    assert _offload.submit(hold)
    assert started.wait(5)
    yield ev
    ev.set()
    _offload.drain()


def _call(i: int = 0) -> Any:
    with llm_insights.llm_call(provider="openai", model="gpt-4o") as call:
        call.record_usage(100 + i, 10)
        call.record_completion("Up to 1,200 mg a day.", finish_reason="stop")
    return call


def _durations(t: Any) -> float:
    """Calls recorded so far, read without draining the queue (unlike t.total)."""
    data = InMemoryMetricReader.get_metrics_data(t.reader)  # the reader's own: no drain
    n = 0.0
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name == c.OPERATION_DURATION.name:
                    n += sum(p.count for p in m.data.data_points)
    return n


def _undrained_spans(t: Any) -> Any:
    """Spans exported so far, read without waiting for the emit thread."""
    return InMemorySpanExporter.get_finished_spans(t.spans_exporter)


def test_the_caller_only_queues_and_flush_drains(telemetry, gate):
    for i in range(3):
        _call(i)
    assert _offload.pending() == 3
    assert _durations(telemetry) == 0  # not recorded yet: queued behind the held job
    assert _undrained_spans(telemetry) == ()
    gate.set()
    llm_insights.flush()
    assert _offload.pending() == 0
    assert _durations(telemetry) == 3
    spans = _undrained_spans(telemetry)  # flush() drained: no help from the reader
    assert len(spans) == 3
    # recorded on the emit thread, with what the caller saw: usage, cost, the caller's end time
    s = spans[0]
    assert s.attributes[c.GEN_AI_USAGE_INPUT_TOKENS] == 100
    assert s.attributes[c.MS_COST_INPUT] > 0
    assert s.end_time - s.start_time < 1e9  # not the time it waited in the queue (gate)


def test_shutdown_drains(telemetry, gate):
    _call()
    gate.set()
    llm_insights.shutdown()
    assert len(_undrained_spans(telemetry)) == 1


def test_priced_waits_for_its_call(telemetry, gate):
    call = _call()._call  # the LLMCall behind llm_call()
    assert call.queued
    gate.set()
    assert call.cost_usd is not None and call.cost_usd > 0  # waited for the emit thread
    assert not call.queued


def test_a_burst_is_bounded_and_the_overflow_counted_not_lost(telemetry, gate, monkeypatch):
    monkeypatch.setattr(_offload, "MAX_QUEUED", 3)
    before = _guard.error_counts().get(c.SDK_COMPONENT_OFFLOAD_FULL, 0)
    for i in range(7):
        _call(i)
        assert _offload.pending() <= 3
    # the 4 the queue had no room for were recorded by their callers, at once
    assert _guard.error_counts()[c.SDK_COMPONENT_OFFLOAD_FULL] == before + 4
    assert _durations(telemetry) == 4
    gate.set()
    _offload.drain()
    assert _durations(telemetry) == 7  # nothing lost
    full = [
        p
        for p in telemetry.points(c.SDK_ERRORS.name)
        if p.attributes[c.ATTR_SDK_COMPONENT] == c.SDK_COMPONENT_OFFLOAD_FULL
    ]
    assert full and full[0].value == 4


def test_a_failure_on_the_emit_thread_never_reaches_the_app(telemetry, monkeypatch):
    before = _guard.error_counts().get("llm_call.finish", 0)

    def broken() -> Any:
        raise RuntimeError("instrumentation bug")

    monkeypatch.setattr(_state, "instruments", broken)
    _call()  # returns normally
    _offload.drain()
    assert _guard.error_counts().get("llm_call.finish", 0) == before + 1
    monkeypatch.undo()
    assert len(telemetry.spans()) == 1  # the span still ended
    _call()  # the thread survived and records the next call
    assert telemetry.total(c.OPERATION_DURATION.name) == 1


def test_no_thread_means_the_caller_records(telemetry, monkeypatch):
    def cannot_start(self: Any) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(_offload, "_thread", None)
    monkeypatch.setattr(_offload, "_running", False)
    monkeypatch.setattr(threading.Thread, "start", cannot_start)
    _call()  # no exception
    monkeypatch.undo()
    assert _durations(telemetry) == 1  # recorded inline, at once


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_thread_that_ended_is_replaced_by_the_next_call(telemetry):
    _call()
    assert _offload.drain()
    first = _offload._thread

    def leave() -> None:
        raise SystemExit  # not an Exception: ends the thread past its job guard

    assert _offload.submit(leave)
    first.join(5)
    assert not first.is_alive()
    _call()  # queued on a new thread, and recorded
    assert _offload._thread is not first
    assert _offload.drain()
    assert _durations(telemetry) == 2


def test_calls_inside_a_kit_agent_run_count_before_it_ends(telemetry, gate):
    with llm_insights.agent("planner"):
        _call()
    # the run ended while the emit thread was held: its call was recorded by its caller, so
    # the run counted it with its cost
    assert _durations(telemetry) == 1
    runs = telemetry.points(c.AGENT_COST.name)
    assert len(runs) == 1 and runs[0].sum > 0
    assert sum(p.sum for p in telemetry.points(c.AGENT_MODEL_CALLS.name)) == 1


def test_a_thread_starved_of_the_gil_is_parked_and_callers_record(telemetry, gate, monkeypatch):
    # The gate holds the thread as a caller that never waits would: queued calls wait past the
    # thread's due time. The next caller takes over; calls after it are recorded at once, and
    # nothing queued is lost.
    monkeypatch.setattr(_offload, "_caller_until", 0.0)  # restored after the test
    monkeypatch.setattr(_offload, "STARVED_AT", 3)
    monkeypatch.setattr(_offload, "PARK_WAIT_S", 0.001)  # the held thread cannot park
    monkeypatch.setattr(_offload, "CALLER_RUNS_S", 60.0)  # however slow the machine
    before = _offload.takeovers
    for i in range(3):
        _call(i)
    assert _offload.pending() == 3 and _durations(telemetry) == 0
    monkeypatch.setattr(_offload, "_due", 0.0)  # due long ago, and no job finished since
    _call(3)  # takes over: recorded by its caller
    assert _offload.takeovers == before + 1
    assert _durations(telemetry) == 1 and _offload.pending() == 3
    _offload._wake.clear()
    for i in range(4, 9):
        _call(i)  # callers record their own calls: nothing queued, the thread not woken
    assert _durations(telemetry) == 6 and _offload.pending() == 3
    assert not _offload._wake.is_set()
    gate.set()
    assert _offload.drain()
    assert _durations(telemetry) == 9  # the queued three recorded by the thread
    assert _offload._parked.wait(5)  # and the thread parked
    # once the callers' turn is over, calls queue again
    monkeypatch.setattr(_offload, "_caller_until", time.monotonic() - 1)
    assert _offload.submit(lambda: None)
    assert _offload.drain()
    assert _offload.takeovers == before + 1


def test_a_thread_that_records_is_not_taken_over(telemetry, gate, monkeypatch):
    # many calls queued, but the thread finished a job within the grace: it is keeping up
    monkeypatch.setattr(_offload, "STARVED_AT", 3)
    monkeypatch.setattr(_offload, "_due", time.monotonic() + 60)
    before = _offload.takeovers
    for i in range(6):
        _call(i)
    assert _offload.pending() == 6 and _durations(telemetry) == 0
    assert _offload.takeovers == before
    gate.set()
    assert _offload.drain()
    assert _durations(telemetry) == 6


def test_a_taking_over_caller_lets_the_thread_record_the_queue_first(telemetry, monkeypatch):
    # the caller gives the GIL up until the thread has recorded what was queued and parked, so
    # its own call is recorded after the queued ones
    order: list[int] = []
    assert _offload.drain()
    monkeypatch.setattr(_offload, "_caller_until", 0.0)  # restored after the test
    monkeypatch.setattr(_offload, "STARVED_AT", 1)
    monkeypatch.setattr(_offload, "BATCH_WINDOW_S", 30.0)  # the thread waits out its window
    monkeypatch.setattr(_offload, "PARK_WAIT_S", 10.0)
    assert _offload.submit(lambda: order.append(1))
    deadline = time.monotonic() + 5
    while _offload._due < time.monotonic() + 20 and time.monotonic() < deadline:
        time.sleep(0.001)  # until the thread is in its window
    assert _offload.pending() == 1
    monkeypatch.setattr(_offload, "_due", 0.0)  # its window long over, the queue untouched
    assert not _offload.submit(lambda: None)  # takes over: the thread records and parks first
    order.append(2)  # the caller's own call
    assert order == [1, 2] and _offload.pending() == 0
