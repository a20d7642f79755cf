"""Agent runs: ``agent()`` spans (``invoke_agent {name}``), the run's tally of LLM and tool calls,
tokens and cost, and the per-run metrics.

A run is the scope of one ``agent()`` use. LLM calls finishing inside it (``_call`` hands each
finished call's usage and cost over through ``note_model_call``) and ``tool()`` calls count for
the run and for every enclosing run (a nested agent's calls are part of its caller's run too, as
Azure's cost view attributes them through the span tree). Per-run metrics are recorded by
``record_agent_run``, which takes plain values so that a span processor deriving metrics from
another instrumentation's ``invoke_agent`` spans can record the same series.

Unknown stays unknown: a run with an LLM call whose usage was not reported records no token
metric, one with a call whose cost is unknown (no usage, or no price) records no cost and
counts in ``llm_insights.agent.cost_unknown_runs``.
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any

from . import _state
from . import contract as c
from ._billing import USD_DIGITS
from ._guard import guarded
from ._metrics import finite_number


class Run:
    """Counts of one agent run in progress (thread-safe: calls may finish on other threads)."""

    __slots__ = (
        "_lock",
        "cost",
        "cost_known",
        "foreign",
        "input_tokens",
        "main",
        "model_calls",
        "name",
        "output_tokens",
        "parent",
        "tokens_known",
        "tool_calls",
    )

    def __init__(self, name: str, parent: Run | None, foreign: bool = False) -> None:
        self.name = name
        self.parent = parent
        self.foreign = foreign  # another framework's invoke_agent span (``_span_metrics``)
        self.main: str = parent.main if parent is not None else name
        self.model_calls = 0
        self.tool_calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.tokens_known = True
        self.cost = 0.0
        self.cost_known = True
        self._lock = threading.Lock()

    def _chain(self, chain: bool = True) -> list[Run]:
        """This run and (*chain*) every run it is nested in."""
        runs, run = [], self
        while run is not None:
            runs.append(run)
            run = run.parent if chain else None
        return runs

    def add_model_call(
        self,
        input_tokens: int | None,
        output_tokens: int | None,
        cost: float | None,
        chain: bool = True,
    ) -> None:
        for run in self._chain(chain):
            with run._lock:
                run.model_calls += 1
                if input_tokens is None and output_tokens is None:
                    run.tokens_known = False
                else:
                    run.input_tokens += input_tokens or 0
                    run.output_tokens += output_tokens or 0
                if cost is None:
                    run.cost_known = False
                else:
                    run.cost += cost

    def add_tool_call(self, chain: bool = True) -> None:
        for run in self._chain(chain):
            with run._lock:
                run.tool_calls += 1


_current: contextvars.ContextVar[Run | None] = contextvars.ContextVar(
    "llm_insights_agent_run", default=None
)


def current_run() -> Run | None:
    """The innermost agent run of the current context (None outside agents)."""
    return _current.get()


def enter(run: Run | None) -> Any:
    return _current.set(run)


def leave(token: Any, previous: Run | None) -> None:
    try:
        _current.reset(token)
    except (ValueError, RuntimeError):
        # exited in another contextvars context (generators driven from copied contexts)
        _current.set(previous)


@guarded("agent.model_call")
def note_model_call(
    input_tokens: int | None, output_tokens: int | None, cost_usd: float | None
) -> None:
    """A finished LLM call: count it, with its usage and the cost it was priced at (None:
    unknown — never re-priced here, never taken as zero), in the current run."""
    run = _current.get()
    if run is not None:
        run.add_model_call(input_tokens, output_tokens, cost_usd)


def note_tool_call() -> None:
    run = _current.get()
    if run is not None:
        run.add_tool_call()


def record_agent_run(
    name: str,
    duration_s: float,
    error_type: str | None,
    model_calls: int,
    tool_calls: int,
    input_tokens: int | None,
    output_tokens: int | None,
    cost_usd: float | None,
) -> None:
    """Record one finished agent run's metrics (never sampled; dimensions capped).

    ``input_tokens``/``output_tokens`` None: usage unknown (no token metric); ``cost_usd`` None:
    cost unknown (counted in ``llm_insights.agent.cost_unknown_runs``, never as zero).
    """
    inst = _state.instruments()
    dims = {c.GEN_AI_AGENT_NAME: inst.capped(c.GEN_AI_AGENT_NAME, name)}
    dur = dims if not error_type else {**dims, c.ERROR_TYPE: inst.capped(c.ERROR_TYPE, error_type)}
    inst.record(c.AGENT_DURATION, duration_s, dur)
    inst.bucket(c.AGENT_DURATION_BUCKET_COUNTS, duration_s, dur)
    inst.record(c.AGENT_MODEL_CALLS, model_calls, dims)
    inst.record(c.AGENT_TOOL_CALLS, tool_calls, dims)
    steps = model_calls + tool_calls
    inst.record(c.AGENT_STEPS, steps, dims)
    inst.bucket(c.AGENT_STEPS_BUCKET_COUNTS, steps, dims)
    if input_tokens is not None or output_tokens is not None:
        for count, ttype in (
            (input_tokens, c.TOKEN_TYPE_INPUT),
            (output_tokens, c.TOKEN_TYPE_OUTPUT),
        ):
            if count is not None:
                inst.record(c.AGENT_TOKENS, count, {**dims, c.GEN_AI_TOKEN_TYPE: ttype})
    if cost_usd is None or finite_number(cost_usd) is None:
        inst.add(c.AGENT_COST_UNKNOWN, 1, dims)
    else:
        inst.record(c.AGENT_COST, cost_usd, dims)


def record_tool_call(
    name: str | None, duration_s: float, error_type: str | None, agent_name: str | None = None
) -> None:
    """Record one finished tool call (``llm_insights.tool.duration``: calls, failures, latency
    by tool and by the agent run it belongs to; dimensions capped)."""
    attrs: dict[str, Any] = {}
    if name:
        attrs[c.GEN_AI_TOOL_NAME] = name
    if error_type:
        attrs[c.ERROR_TYPE] = error_type
    if agent_name:
        attrs[c.GEN_AI_AGENT_NAME] = agent_name
    _state.instruments().record(c.TOOL_DURATION, duration_s, attrs)


def run_attributes(run: Run) -> dict[str, Any]:
    """The run totals set on the invoke_agent span at its end."""
    out: dict[str, Any] = {
        c.ATTR_AGENT_MODEL_CALLS: run.model_calls,
        c.ATTR_AGENT_TOOL_CALLS: run.tool_calls,
    }
    if run.tokens_known:
        out[c.ATTR_AGENT_TOKENS] = run.input_tokens + run.output_tokens
    if run.cost_known:
        out[c.ATTR_AGENT_COST] = round(run.cost, USD_DIGITS)
    return out


def finish_run(run: Run, duration_s: float, error_type: str | None) -> None:
    """Record *run*'s metrics (its tokens only when known, its cost only when known)."""
    known = run.tokens_known
    record_agent_run(
        run.name,
        duration_s,
        error_type,
        run.model_calls,
        run.tool_calls,
        run.input_tokens if known else None,
        run.output_tokens if known else None,
        run.cost if run.cost_known else None,
    )
