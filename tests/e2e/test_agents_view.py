"""Azure's own Agents view lights up from the kit's telemetry: asserted on the local store's
``dependencies`` rows (the real SDK and Azure Monitor exporter, 25 % trace sampling) the way
Microsoft's "Agents - Overview" workbook reads them
(microsoft/Application-Insights-Workbooks, ``Workbooks/UsageMetrics/Agents - Overview/Agents -
Overview.workbook``, read 2026-12):

- agents: rows with ``customDimensions["gen_ai.operation.name"] == "invoke_agent"`` named by
  ``gen_ai.agent.name``; "only main agents" keeps rows whose ``microsoft.gen_ai.main_agent.name``
  equals the agent name; errors are ``error.type`` or ``success == false``;
- tools and models under an agent: ``execute_tool`` rows, and rows with ``gen_ai.request.model``,
  looked up to the agent by ``operation_ParentId == id`` (a direct child), counts weighted by
  ``itemCount``;
- cost and tokens per agent: ``microsoft.gen_ai.cost.input``/``.output`` and
  ``gen_ai.usage.*_tokens`` of every span below an agent span (``make-graph`` over
  ``operation_ParentId → id`` edges, ``graph-match (chat)-[*1..N]->(agent)``), so a span that
  carried ``gen_ai.agent.name`` or its own usage/cost besides the agent span would be counted
  twice. duckdb-kql has no ``make-graph``: the walk is done here over the same rows and links.

The links are the exporter's (azure-monitor-opentelemetry-exporter 1.0.0b58,
``export/trace/_exporter.py``): a span's ``id`` is its span id as 16 hex digits and
``ai.operation.parentId`` (→ ``operation_ParentId``) its parent's span id in the same format, so
the local store keeps both as sent. A root span has no parentId tag (the local store leaves the
column empty; the Agents workbook's "virtual edges" for roots are not needed here: every agent
span in these runs has a parent or is a root whose children link to it directly).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from llm_insights import contract as c

from .conftest import Ran
from .truth_plan import Truth

pytestmark = [pytest.mark.e2e]

ITEM_COUNT = 4  # 25 % trace sampling


def _represents(row: dict[str, Any]) -> int:
    """A head-sampled row stands for ITEM_COUNT, a row kept because it failed (or holds a failed
    step: llm_insights.kept_for) for itself."""
    return 1 if row["customDimensions"].get(c.ATTR_KEPT_FOR) else ITEM_COUNT


def _dim(attr: str) -> str:
    return f'tostring(customDimensions["{attr}"])'


def _rows(ran: Ran) -> list[dict[str, Any]]:
    return ran.store.query(
        f"{c.TABLE_LLM_SPANS} | where isnotempty({_dim(c.GEN_AI_OPERATION_NAME)})"
        " | project id, operation_Id, operation_ParentId, name, success, itemCount,"
        " customDimensions"
    ).to_dicts()


def _agent_of_calls(truth_workload: Any) -> dict[str, str]:
    """response id → the agent whose run made the call directly (truth_plan's agent runs)."""
    calls = {cl.id: cl for cl in truth_workload.calls}
    out: dict[str, str] = {}

    def walk(run: dict[str, Any]) -> None:
        for step in run["steps"]:
            if "call" in step:
                out[calls[step["call"]].script["response_id"]] = run["agent"]
            elif "agent" in step:
                walk(step["agent"])

    for run in truth_workload.agents:
        walk(run)
    return out


def _agents_with_failed_calls(truth_workload: Any) -> set[str]:
    """The agents whose runs made a call the stand-in failed (it answers those with no id)."""
    calls = {cl.id: cl for cl in truth_workload.calls}
    out: set[str] = set()

    def walk(run: dict[str, Any]) -> None:
        for step in run["steps"]:
            if "call" in step and calls[step["call"]].error is not None:
                out.add(run["agent"])
            elif "agent" in step:
                walk(step["agent"])

    for run in truth_workload.agents:
        walk(run)
    return out


def _num(value: Any) -> float:
    return float(value) if value not in (None, "") else 0.0


def test_agent_rows_carry_what_the_agents_view_reads(main_run: tuple[Ran, Truth]) -> None:
    ran, truth = main_run
    rows = _rows(ran)
    agents = [r for r in rows if r["customDimensions"][c.GEN_AI_OPERATION_NAME] == "invoke_agent"]
    assert len(agents) >= 10, "too few agent runs kept to check anything"
    for r in agents:
        d = r["customDimensions"]
        name = d[c.GEN_AI_AGENT_NAME]
        assert name in truth.agents and r["name"] == f"invoke_agent {name}"
        assert r["itemCount"] == _represents(r)
        # "only main agents": a nested run names its caller as the main agent
        assert d[c.ATTR_MAIN_AGENT_NAME] == ("billing" if name == "pricing" else name)
        # errors: success false (the exporter drops error.type from span properties; the view
        # falls back to success == false) with the kit's copy of error.type
        failed = d.get(c.ATTR_ERROR_TYPE) == "AgentGaveUp"
        assert r["success"] is (not failed), r
        # no usage or Azure cost of its own: the view sums those over the spans below it
        assert not {c.MS_COST_INPUT, c.MS_COST_OUTPUT, c.GEN_AI_USAGE_INPUT_TOKENS} & set(d)
    assert {r["customDimensions"][c.GEN_AI_AGENT_NAME] for r in agents} >= {"triage", "escalation"}
    # only agent rows name an agent: nothing else becomes an "agent" node in the cost graph
    others = [r for r in rows if r not in agents]
    assert others and all(c.GEN_AI_AGENT_NAME not in r["customDimensions"] for r in others)


def test_tools_and_models_link_to_their_agent_by_parent_id(main_run: tuple[Ran, Truth]) -> None:
    """The view's lookup (operation_ParentId == agent id), run as KQL on the store."""
    ran, truth = main_run
    op = _dim(c.GEN_AI_OPERATION_NAME)
    agents = (
        f'{c.TABLE_LLM_SPANS} | where {op} == "{c.OPERATION_INVOKE_AGENT}"'
        f" | extend AgentName = {_dim(c.GEN_AI_AGENT_NAME)} | project id, AgentName"
    )
    tools = ran.store.query(
        f'{c.TABLE_LLM_SPANS} | where {op} == "{c.OPERATION_EXECUTE_TOOL}"'
        f" | lookup kind=leftouter ({agents}) on $left.operation_ParentId == $right.id"
        f" | summarize Calls = sum(itemCount), Errors = sumif(itemCount, success == false)"
        f" by Tool = {_dim(c.GEN_AI_TOOL_NAME)}, AgentName = coalesce(AgentName, '')"
    ).to_dicts()
    # every kept tool row is linked to the agent the plan called it from ("" = a chain's tool)
    assert {(r["Tool"], r["AgentName"]) for r in tools} <= set(truth.tool_calls_by)
    assert {r["AgentName"] for r in tools} >= {"triage", "escalation"}
    tool_rows = ran.store.query(
        f'{c.TABLE_LLM_SPANS} | where {op} == "{c.OPERATION_EXECUTE_TOOL}"'
        " | project itemCount, customDimensions"
    ).to_dicts()
    assert all(r["itemCount"] == _represents(r) for r in tool_rows)

    models = ran.store.query(
        f"{c.TABLE_LLM_SPANS} | where isnotempty({_dim(c.GEN_AI_REQUEST_MODEL)})"
        f" | lookup kind=leftouter ({agents}) on $left.operation_ParentId == $right.id"
        f" | project rid = {_dim(c.GEN_AI_RESPONSE_ID)}, AgentName = coalesce(AgentName, ''),"
        f" Model = {_dim(c.GEN_AI_REQUEST_MODEL)}, itemCount"
    ).to_dicts()
    made_by = _agent_of_calls(ran.workload)
    linked = [m for m in models if m["rid"] in made_by]
    # The harness samples a random quarter of the traces (random trace ids): about a quarter of
    # the ~80 agent-made calls is kept, clustered by run. Fewer than 3 kept is a chance of about
    # 1e-4; fewer than 10, the bound this once had, about 3 % (seen once on a loaded machine).
    assert len(linked) >= 3
    failing = _agents_with_failed_calls(ran.workload)
    for m in models:
        if not m["rid"]:  # a failed call has no response id: its agent made a failing call
            assert m["AgentName"] in failing | {""}, m
            continue
        # calls made in an agent are its direct children; calls outside agents have none
        assert m["AgentName"] == made_by.get(m["rid"], ""), m


def test_cost_and_tokens_below_each_agent_equal_the_run_totals(
    main_run: tuple[Ran, Truth],
) -> None:
    """What the view's cost graph sums under an agent span equals the run totals the kit puts
    on that span (and records in the agent metrics): nothing double-counted, nothing missed."""
    ran, _ = main_run
    rows = _rows(ran)
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        children[r["operation_ParentId"]].append(r)

    def below(row: dict[str, Any]) -> list[dict[str, Any]]:
        out, todo = [], list(children[row["id"]])
        while todo:
            r = todo.pop()
            out.append(r)
            todo.extend(children[r["id"]])
        return out

    checked_cost = checked_kept = 0
    for agent in (
        r for r in rows if r["customDimensions"][c.GEN_AI_OPERATION_NAME] == "invoke_agent"
    ):
        d = agent["customDimensions"]
        spans = below(agent)
        if c.ATTR_KEPT_FOR in d:
            # a run the sampler dropped, kept for what failed in it: it comes with the kept
            # spans below it only (each failed, or holding one), never a whole run's steps
            assert all(c.ATTR_KEPT_FOR in s["customDimensions"] for s in spans), d
            checked_kept += 1
            continue
        ops = [s["customDimensions"][c.GEN_AI_OPERATION_NAME] for s in spans]
        assert ops.count(c.OPERATION_EXECUTE_TOOL) == int(d[c.ATTR_AGENT_TOOL_CALLS]), d
        assert ops.count(c.OPERATION_CHAT) == int(d[c.ATTR_AGENT_MODEL_CALLS]), d
        if c.ATTR_AGENT_COST in d:
            cost = sum(
                _num(s["customDimensions"].get(k))
                for s in spans
                for k in (c.MS_COST_INPUT, c.MS_COST_OUTPUT)
            )
            assert cost == pytest.approx(float(d[c.ATTR_AGENT_COST]), abs=1e-9), d
            checked_cost += cost > 0
        if c.ATTR_AGENT_TOKENS in d:
            tokens = sum(
                _num(s["customDimensions"].get(k))
                for s in spans
                for k in (c.GEN_AI_USAGE_INPUT_TOKENS, c.GEN_AI_USAGE_OUTPUT_TOKENS)
            )
            assert tokens == int(d[c.ATTR_AGENT_TOKENS]), d
        assert all(s["operation_Id"] == agent["operation_Id"] for s in spans)
    assert checked_cost >= 5 and checked_kept >= 1
