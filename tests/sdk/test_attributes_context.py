"""``attributes()`` never raises into the app, whatever contexts it is entered and exited in."""

from __future__ import annotations

import contextvars

import llm_insights
from llm_insights import _guard
from llm_insights import contract as c
from llm_insights._spans import current_span_attributes
from opentelemetry import trace


def test_same_instance_reused_nested(telemetry):
    ids = llm_insights.attributes(user_id="u1")
    with ids:
        with ids:
            assert current_span_attributes() == {c.ENDUSER_ID: "u1"}
        assert current_span_attributes() == {c.ENDUSER_ID: "u1"}
        with llm_insights.chain("inside"):
            pass
    assert current_span_attributes() == {}
    assert telemetry.span("chain inside").attributes[c.ENDUSER_ID] == "u1"


def test_exit_in_another_context_does_not_raise(telemetry):
    before = _guard.error_counts().get("spans.attributes", 0)
    ids = llm_insights.attributes(session_id="s1")
    ctx = contextvars.copy_context()
    ctx.run(ids.__enter__)
    assert ctx.run(current_span_attributes) == {c.SESSION_ID: "s1"}
    ids.__exit__(None, None, None)  # the token belongs to ctx, not to this context
    assert current_span_attributes() == {}
    assert _guard.error_counts().get("spans.attributes", 0) == before + 1


def test_generator_driven_from_copied_contexts(telemetry):
    """Starlette's iterate_in_threadpool runs each next() of a sync streaming generator in a
    fresh copy of the context: the ``with`` is entered in one copy and left in another."""

    def body():
        with llm_insights.attributes(user_id="u2"):
            with llm_insights.tool("t"):
                pass
            yield "a"
            yield "b"

    gen = body()
    out = []
    while True:
        try:
            out.append(contextvars.copy_context().run(next, gen))
        except StopIteration:
            break
    assert out == ["a", "b"]
    assert telemetry.span("execute_tool t").attributes[c.ENDUSER_ID] == "u2"
    assert current_span_attributes() == {}


def test_same_step_instance_reused_nested_and_in_sequence(telemetry):
    step = llm_insights.chain("reused")
    with step, step:
        pass
    with step:
        pass
    spans = telemetry.spans("chain reused")
    assert len(spans) == 3 and all(s.end_time for s in spans)
    inner, outer, _ = spans  # finished order
    assert inner.parent.span_id == outer.context.span_id


def test_same_llm_call_instance_reused_nested_and_in_sequence(telemetry):
    call = llm_insights.llm_call(provider="openai", model="gpt-4o")
    with call:
        call.record_usage(input_tokens=10, output_tokens=1)
        with call:  # the inner use is its own call; the outer one comes back at its exit
            call.record_usage(input_tokens=20, output_tokens=2)
        call.record_completion("outer text")
    with call:
        call.record_usage(input_tokens=30, output_tokens=3)
    spans = telemetry.spans("chat gpt-4o")
    assert len(spans) == 3 and all(s.end_time for s in spans)
    inner, outer, later = spans  # finished order
    assert inner.parent.span_id == outer.context.span_id
    used = [s.attributes[c.GEN_AI_USAGE_INPUT_TOKENS] for s in (inner, outer, later)]
    assert used == [20, 10, 30]  # nothing the outer call recorded was lost to the inner one
    assert telemetry.total(c.OPERATION_DURATION.name) == 3
    assert current_span_attributes() == {} and not trace.get_current_span().is_recording()
