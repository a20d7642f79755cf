"""Agent runs: ``agent()`` spans (``invoke_agent {name}``), the run's tally of LLM and tool calls,
tokens and cost, and the per-run metrics.

A run is the scope of one ``agent()`` use, or one ``invoke_agent`` span of another framework
(``_span_metrics``). LLM calls finishing inside it (each hands what ``_record.record`` made of it
to ``add_model_call``: the tokens and cost the call was recorded with, never re-derived) and tool
calls count for the run and for every enclosing run (a nested agent's calls are part of its
caller's run too, as Azure's cost view attributes them through the span tree). Per-run metrics
are recorded by ``finish_run`` for the kit's runs and frameworks' alike.

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
from ._guard import guarded
from ._metrics import finite_number
from ._pricing import USD_DIGITS


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
        "reported_input_tokens",
        "reported_output_tokens",
        "tokens_known",
        "tool_calls",
    )

    def __init__(self, name: str, parent: Run | None, foreign: bool = False) -> None:
        self.name = name
        self.parent = parent
        self.foreign = foreign  # another framework's invoke_agent span (``_span_metrics``)
        # usage the framework reported on its invoke_agent span (the sum of its calls, or a
        # remote agent's only usage): used only when no call of the run was seen
        self.reported_input_tokens: int | None = None
        self.reported_output_tokens: int | None = None
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
def note_model_call(recorded: Any) -> None:
    """A finished LLM call (a ``_record.Recorded``): count it, with the usage and the cost it was
    recorded with (None: unknown — never re-priced here, never taken as zero), in the current
    run."""
    run = _current.get()
    if run is not None:
        run.add_model_call(recorded.input_tokens, recorded.output_tokens, recorded.run_cost)


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


def _totals(run: Run) -> tuple[int | None, int | None, float | None]:
    """(input tokens, output tokens, USD cost) of *run*, None where unknown.

    A framework's run with no call the kit saw is not a free run: its calls happened where the
    kit could not see them (a remote agent, an uninstrumented client), so its cost is unknown and
    its tokens are the ones the framework reported on its span, if any.
    """
    if run.foreign and run.model_calls == 0:
        reported = (run.reported_input_tokens, run.reported_output_tokens)
        if reported == (None, None):
            return None, None, None
        return run.reported_input_tokens, run.reported_output_tokens, None
    if not run.tokens_known:
        return None, None, run.cost if run.cost_known else None
    return run.input_tokens, run.output_tokens, run.cost if run.cost_known else None


def run_attributes(run: Run) -> dict[str, Any]:
    """The run totals set on the invoke_agent span at its end (the kit's and frameworks')."""
    out: dict[str, Any] = {
        c.ATTR_AGENT_MODEL_CALLS: run.model_calls,
        c.ATTR_AGENT_TOOL_CALLS: run.tool_calls,
    }
    input_tokens, output_tokens, cost = _totals(run)
    if input_tokens is not None or output_tokens is not None:
        out[c.ATTR_AGENT_TOKENS] = (input_tokens or 0) + (output_tokens or 0)
    if cost is not None:
        out[c.ATTR_AGENT_COST] = round(cost, USD_DIGITS)
    return out


def finish_run(run: Run, duration_s: float, error_type: str | None) -> None:
    """Record *run*'s metrics (its tokens only when known, its cost only when known)."""
    input_tokens, output_tokens, cost = _totals(run)
    record_agent_run(
        run.name,
        duration_s,
        error_type,
        run.model_calls,
        run.tool_calls,
        input_tokens,
        output_tokens,
        cost,
    )
