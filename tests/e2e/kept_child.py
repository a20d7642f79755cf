"""Child process of the kept-spans truth test: the REAL SDK, openai client and Azure Monitor
exporter under the trace sampler its environment names (a stack's, or the distro's default),
sending to a local ingest server. Run by ``test_kept_truth.py`` (never collected by pytest).

``python kept_child.py workload <slow_seconds>``: a burst of healthy calls with known failures
(429, 500, 503, broken streams), calls slower than *slow_seconds*, and agent runs, one of which
fails; ``python kept_child.py burst <n>``: *n* calls that all fail (503). Prints one JSON line:
what each call measured on the client side.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import llm_insights
import openai

from llm_insights_kit.fake_openai.scripted import SCENARIO_HEADER, Scripted
from llm_insights_kit.fake_openai.server import FakeOpenAI

HEALTHY = 130
FAILURES = {"429": 6, "500": 6, "503": 2}
BROKEN_STREAMS = 2
SLOW = 5
AGENT_RUNS, FAILED_RUN = 8, 3
AGENT = "planner"
MODEL, BURST_MODEL = "gpt-4o", "gpt-4o-mini"


class AgentGaveUp(RuntimeError):
    """What the failing agent run raises."""


def plan(mode: str, arg: float) -> list[tuple[str, Scripted, bool]]:
    """(call id, script, stream) per call."""
    if mode == "burst":
        return [
            (f"burst-{i}", Scripted(status=503, error_code="overloaded"), False)
            for i in range(int(arg))
        ]
    calls = [(f"ok-{i}", Scripted(), False) for i in range(HEALTHY)]
    for status, n in FAILURES.items():
        calls += [(f"e{status}-{i}", Scripted(status=int(status)), False) for i in range(n)]
    calls += [(f"broken-{i}", Scripted(fail_after_chunks=2), True) for i in range(BROKEN_STREAMS)]
    # slower than the threshold by 0.3 s and more, each a distinct duration
    calls += [(f"slow-{i}", Scripted(latency=arg + 0.3 + 0.2 * i), False) for i in range(SLOW)]
    return calls


def call(client: Any, call_id: str, stream: bool, model: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": call_id, "error": None}
    start = time.perf_counter()
    try:
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": f"question {call_id}"}],
            "extra_headers": {SCENARIO_HEADER: call_id},
        }
        if stream:
            for _ in client.chat.completions.create(stream=True, **kwargs):
                pass
        else:
            client.chat.completions.create(**kwargs)
    except openai.APIStatusError as exc:
        out["error"] = str(exc.status_code)
    except openai.APIError as exc:  # a stream broken mid-way
        out["error"] = type(exc).__name__
    out["duration"] = time.perf_counter() - start
    return out


def agent_run(client: Any, k: int) -> None:
    try:
        with llm_insights.agent(AGENT):
            call(client, f"agent-{k}", False, MODEL)
            if k == FAILED_RUN:
                raise AgentGaveUp("no plan")
    except AgentGaveUp:
        pass


def main() -> int:
    mode, arg = sys.argv[1], float(sys.argv[2])
    assert llm_insights.configure(
        "kept-truth", disable_offline_storage=True, enable_live_metrics=False
    )
    llm_insights.instrument_openai()
    calls = plan(mode, arg)
    model = BURST_MODEL if mode == "burst" else MODEL
    with FakeOpenAI() as srv:
        for call_id, script, _ in calls:
            srv.scenarios[call_id] = script
        for k in range(AGENT_RUNS):
            srv.scenarios[f"agent-{k}"] = Scripted()
        client = openai.OpenAI(base_url=srv.base_url, api_key="t", max_retries=0)
        # the agent runs go out in the middle of the burst, when the sampler drops most traces
        runs = list(range(AGENT_RUNS)) if mode == "workload" else []
        tasks: list[Any] = calls[: len(calls) // 2] + runs + calls[len(calls) // 2 :]
        with ThreadPoolExecutor(max_workers=16) as pool:
            done = list(
                pool.map(
                    lambda t: (
                        agent_run(client, t)
                        if isinstance(t, int)
                        else call(client, t[0], t[2], model)
                    ),
                    tasks,
                )
            )
        measured = [m for m in done if m is not None]
    llm_insights.flush()
    llm_insights.shutdown()
    print(json.dumps(measured), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
