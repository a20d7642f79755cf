"""Child process of the truth tests: the REAL SDK + openai client → LLM stand-in → local ingest.

Run by ``conftest.py`` (never collected by pytest). ``llm_insights.configure()`` is process-global,
so each test session's workloads run here, in one process, one after the other. Protocol, one JSON
object per line: the parent sends ``{"workload": {...}}`` on stdin; the child runs it, flushes
the SDK, and answers ``{"done": name, "calls": [...], "elapsed": s}`` with what each call measured
on the client side; ``{"quit": true}`` shuts the SDK down and exits.

A workload: ``{"name", "concurrency", "calls": [call...], "feedback": [[call_id, score]...],
"chains": [{"id", "scores": [...], "tool": bool}...]}``; a call: ``{"id", "api": "openai" |
"azure", "model", "stream", "script": {Scripted fields}}``. Each call's script is registered as a
stand-in scenario named by its id and chosen by the ``x-standin-scenario`` header, so concurrent
calls get exactly their own script.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import llm_insights
import openai
from llm_insights import _keep

from llm_insights_kit.fake_openai.scripted import SCENARIO_HEADER, Scripted
from llm_insights_kit.fake_openai.server import FakeOpenAI

AZURE_API_VERSION = "2024-10-21"
RETRIEVER = "truth-kb"  # as truth_plan.RETRIEVER (this script runs outside the test package)
TOOL = "lookup_drug_price"


def _call(clients: dict[str, Any], call: dict[str, Any]) -> dict[str, Any]:
    client = clients[call["api"]]
    headers = {SCENARIO_HEADER: call["id"]}
    messages = [{"role": "user", "content": f"question {call['id']}"}]
    out: dict[str, Any] = {"id": call["id"], "error": None, "ttft": None}
    start = time.perf_counter()
    try:
        if call["stream"]:
            stream = client.chat.completions.create(
                model=call["model"],
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                extra_headers=headers,
            )
            for chunk in stream:
                if out["ttft"] is None and any(
                    ch.delta and ch.delta.content for ch in chunk.choices or []
                ):
                    out["ttft"] = time.perf_counter() - start
        else:
            client.chat.completions.create(
                model=call["model"], messages=messages, extra_headers=headers
            )
    except openai.APIStatusError as exc:
        out["error"] = exc.status_code
    out["duration"] = time.perf_counter() - start
    return out


def _chain(chain: dict[str, Any]) -> None:
    with llm_insights.chain("truth-chain"):
        with llm_insights.retrieval(RETRIEVER) as r:
            r.record_documents(chain["scores"])
        if chain.get("tool"):
            try:
                with llm_insights.tool(TOOL):
                    time.sleep(0.001)
                    if chain.get("tool_error"):
                        raise LookupError("not in the formulary")
            except LookupError:
                pass


class AgentGaveUp(RuntimeError):
    """What a failing agent run raises (error.type RuntimeError's subclass name)."""


def _agent_run(
    run: dict[str, Any],
    clients: dict[str, Any],
    calls: dict[str, dict[str, Any]],
    measured: list[dict[str, Any]],
    runs: list[dict[str, Any]],
) -> None:
    """One agent run: its steps in order (LLM calls, tools, nested runs); the client-side
    duration of the run, like a call's, is the truth for the run-duration percentiles."""
    start = time.perf_counter()
    try:
        with llm_insights.agent(run["agent"]):
            for step in run["steps"]:
                if "call" in step:
                    measured.append(_call(clients, calls[step["call"]]))
                elif "tool" in step:
                    try:
                        with llm_insights.tool(step["tool"]):
                            time.sleep(step["sleep"])
                            if step.get("error"):
                                raise LookupError("not found")
                    except LookupError:
                        pass
                else:
                    _agent_run(step["agent"], clients, calls, measured, runs)
            if run.get("fail"):
                raise AgentGaveUp("escalation failed")
    except AgentGaveUp:
        pass
    runs.append({"id": run["id"], "duration": time.perf_counter() - start})


def run(workload: dict[str, Any], srv: FakeOpenAI, clients: dict[str, Any]) -> dict[str, Any]:
    for call in workload["calls"]:
        srv.scenarios[call["id"]] = Scripted(**call["script"])
    t0 = time.perf_counter()
    plain = [c for c in workload["calls"] if not c.get("in_agent")]
    in_agent = {c["id"]: c for c in workload["calls"] if c.get("in_agent")}
    agent_runs: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=workload.get("concurrency", 8)) as pool:
        measured = list(pool.map(lambda c: _call(clients, c), plain))
        per_run = list(
            pool.map(
                lambda r: _agent_run(r, clients, in_agent, measured, agent_runs),
                workload.get("agents", []),
            )
        )
    assert len(per_run) == len(workload.get("agents", []))
    for chain in workload.get("chains", []):
        _chain(chain)
    for response_id, score in workload.get("feedback", []):
        llm_insights.record_feedback(response_id, score)
    for response_id, name, score, model in workload.get("evaluations", []):
        llm_insights.evaluate(response_id, name, score, model=model)
    llm_insights.flush()
    return {
        "done": workload["name"],
        "calls": measured,
        "agent_runs": agent_runs,
        "elapsed": time.perf_counter() - t0,
    }


def main() -> int:
    config = json.loads(sys.stdin.readline())
    llm_insights.configure(
        service_name=config["service_name"],
        local_endpoint=config["ingest_url"],
        disable_offline_storage=True,
        enable_live_metrics=False,
    )
    llm_insights.instrument_openai()
    with FakeOpenAI(deployments=config.get("deployments", {})) as srv:
        clients = {
            "openai": openai.OpenAI(base_url=srv.base_url, api_key="truth", max_retries=0),
            "azure": openai.AzureOpenAI(
                azure_endpoint=srv.azure_endpoint,
                api_key="truth",
                api_version=AZURE_API_VERSION,
                max_retries=0,
            ),
        }
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            message = json.loads(line)
            if message.get("quit"):
                break
            # Each workload stands for one app run: what the per-minute cap on kept spans
            # admitted for the previous workload is not this one's (a new process starts empty).
            _keep.limiter = _keep.Limiter()
            print(json.dumps(run(message["workload"], srv, clients)), flush=True)
    llm_insights.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
