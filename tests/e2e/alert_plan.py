"""Workloads that straddle the alert rules' default thresholds, through the real SDK.

Three workloads on the Azure deployment ``alert-chat`` (60 calls: 40 plain, 20 streamed):

=========================  ======================  =====================  =====================
rule (default threshold)   below                   above                  critical
=========================  ======================  =====================  =====================
error rate > 0.05          3/60 = 0.05 (equal)     6/60 = 0.10            7/60 = 0.117
error rate > 0.10 (2 per.) 0.05                    0.10 (equal)           0.117 (both periods)
throttled share > 0.05     3/60 = 0.05 (equal)     4/60 = 0.067           4/60
latency p95 > 5 s          p95 bucket 5 (equal)    bucket 6               bucket 6
latency p99 > 10 s (2 p.)  bucket 10 (equal)       bucket 10 (equal)      bucket 12 (both)
TTFT p95 > 3 s             bucket 3 (equal)        bucket 4               bucket 4
filter hits/call > 0.05    3/61 = 0.049            4/62 = 0.065           4/62
unpriced calls > 0         0                       1                      1
tokens per call > 10000    10000 (equal)           10000 + 60/54          10000 + 60/53
cost per hour > 100 USD    ~99                     ~101                   ~101
empty retrievals > 0.25    5/20 = 0.25 (equal)     6/20 = 0.30            6/20
agent failure rate > 0.10  2/20 = 0.10 (equal)     3/20 = 0.15            3/20
agent run steps > 25       25 (equal)              26                     26
agent run cost > 1 USD     0.99                    1.01                   1.01
tool failure rate > 0.20   2/10 = 0.20 (equal)     3/10 = 0.30            3/10
=========================  ======================  =====================  =====================

Agent runs (``llm_insights.agent``) go through the same child: 20 ``alert-triage`` runs (one
tool call each, some failing the run), one ``alert-looper`` run of tool calls only (its steps),
one ``alert-spender`` run whose single call on ``alert-batch`` costs the run's USD, and 10 calls
of the ``alert-lookup`` tool (some failing) in the triage runs. The spender's call counts in the
hour's cost, so the cost carrier below tops up everything else, that call included; the
content-filter denominator is one call larger (3/62, 4/63).

Percentile buckets come from scripted latencies 0.1 s above a bucket's lower bound (4.1 s,
5.1 s, 8.1 s, 10.1 s; TTFT 2.1 s and 3.1 s): overhead only adds time, and on a loaded 2-core
machine it was seen up to ~0.7 s, so each value keeps ~0.9-1.9 s of room in its bucket.

One extra call on ``alert-batch`` (gpt-4o) carries the token volume that puts the hour's cost
just below or above 100 USD; it is alone on its model, so per-model rules (minimum 10-20 calls)
ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .truth_plan import BILLING, SERVICE, PlannedCall, Workload

MAIN = "alert-chat"
BATCH = "alert-batch"
PREVIEW = "alert-preview"
ALERT_DEPLOYMENTS = {
    MAIN: "gpt-4o-mini-2024-07-18",
    BATCH: "gpt-4o-2024-08-06",
    PREVIEW: "contoso-unpriced-preview",
}
LEVELS = ("below", "above", "critical")
COST_TARGET_USD = {"below": 99.0, "above": 101.0, "critical": 101.0}
TOKENS_IN, TOKENS_OUT = 9000, 1000  # 10000 per call: exactly the token-spike threshold


@dataclass(frozen=True)
class Level:
    throttled: int
    server_errors: int
    slow: float  # latency of three plain calls (p95 bucket)
    slowest: float  # latency of one plain call (p99 bucket)
    ttft: float  # time to first token of two streams
    filter_hits: int
    unpriced: int
    extra_output_tokens: int
    empty_retrievals: int
    failed_runs: int  # of 20 alert-triage runs
    loop_steps: int  # the alert-looper run's steps
    run_cost_usd: float  # the alert-spender run's cost
    tool_errors: int  # of 10 alert-lookup calls


LEVEL_SPECS = {
    "below": Level(3, 0, 4.1, 8.1, 2.1, 3, 0, 0, 5, 2, 25, 0.99, 2),
    "above": Level(4, 2, 5.1, 8.1, 3.1, 4, 1, 60, 6, 3, 26, 1.01, 3),
    "critical": Level(4, 3, 5.1, 10.1, 3.1, 4, 1, 60, 6, 3, 26, 1.01, 3),
}
AGENT_TRIAGE, AGENT_LOOPER, AGENT_SPENDER = "alert-triage", "alert-looper", "alert-spender"
LOOKUP_TOOL, STEP_TOOL = "alert-lookup", "alert-step"

# Expected decision of each single-period rule (by name) for each level, evaluated 6 minutes
# after the flush.
EXPECTED_FIRING: dict[str, tuple[bool, bool, bool]] = {
    "llm-error-rate-high": (False, True, True),
    "llm-throttling": (False, True, True),
    "llm-latency-p95-high": (False, True, True),
    "llm-ttft-slow": (False, True, True),
    "llm-content-filter-spike": (False, True, True),
    "llm-unpriced-model": (False, True, True),
    "llm-token-spike": (False, True, True),
    "llm-cost-spike": (False, True, True),
    "llm-retrieval-empty-rate": (False, True, True),
    "llm-agent-failure-rate": (False, True, True),
    "llm-agent-runaway-steps": (False, True, True),
    "llm-agent-runaway-cost": (False, True, True),
    "llm-tool-failure-rate": (False, True, True),
}
# The two-period rules (2 of 2 periods of 15 minutes) on two runs in one store, the first in the
# older period and the second in the newer one: (older level, newer level) -> fires. Both periods
# at the threshold (error rate 0.10, p99 bucket 10: equal) stay silent; one critical period after
# a healthy one stays silent; two critical periods fire.
TWO_PERIOD_RULES = ("llm-error-rate-critical", "llm-latency-p99-critical")
TWO_PERIOD_EXPECTED: dict[tuple[str, str], bool] = {
    ("above", "above"): False,
    ("below", "critical"): False,
    ("critical", "critical"): True,
}

# The series a firing rule must name (dimension values): the service, and the model, deployment,
# retriever, agent or tool where the rule splits by one.
FIRING_SERIES: dict[str, dict[str, str]] = {
    "llm-error-rate-high": {"cloud_RoleName": SERVICE, "model": MAIN},
    "llm-error-rate-critical": {"cloud_RoleName": SERVICE, "model": MAIN},
    "llm-throttling": {"cloud_RoleName": SERVICE, "deployment": MAIN},
    "llm-latency-p95-high": {"cloud_RoleName": SERVICE, "model": MAIN},
    "llm-latency-p99-critical": {"cloud_RoleName": SERVICE, "model": MAIN},
    "llm-ttft-slow": {"cloud_RoleName": SERVICE, "model": MAIN},
    # the served model
    "llm-unpriced-model": {"cloud_RoleName": SERVICE, "model": "contoso-unpriced-preview"},
    "llm-token-spike": {"cloud_RoleName": SERVICE, "model": MAIN},
    "llm-retrieval-empty-rate": {"cloud_RoleName": SERVICE, "retriever": "truth-kb"},
    "llm-agent-failure-rate": {"cloud_RoleName": SERVICE, "agent": AGENT_TRIAGE},
    "llm-agent-runaway-steps": {"cloud_RoleName": SERVICE, "agent": AGENT_LOOPER},
    "llm-agent-runaway-cost": {"cloud_RoleName": SERVICE, "agent": AGENT_SPENDER},
    "llm-tool-failure-rate": {"cloud_RoleName": SERVICE, "tool": LOOKUP_TOOL},
    "llm-content-filter-spike": {"cloud_RoleName": SERVICE},
    "llm-cost-spike": {"cloud_RoleName": SERVICE},
}


def _price(model: str) -> dict[str, float]:
    """USD per 1K tokens of *model* from the plan's bill (BILLING is per 1M)."""
    inp, out, _ = BILLING[model]
    return {"input": inp / 1000, "output": out / 1000}


def _call(n: int, level: str, model: str, stream: bool, **script) -> PlannedCall:
    base = {
        "text": "Short answer.",
        "input_tokens": TOKENS_IN,
        "output_tokens": TOKENS_OUT,
        "latency": 0.0,
        "response_id": f"{level}-{n}",
    }
    return PlannedCall(f"{level}-{n}", "azure", model, stream, {**base, **script})


def alert_workload(level: str) -> Workload:
    spec = LEVEL_SPECS[level]
    calls: list[PlannedCall] = []
    n = iter(range(1, 1000))
    errors = [{"status": 429, "error_code": "rate_limit_exceeded", "retry_after": 1}] * (
        spec.throttled
    ) + [{"status": 500, "error_code": "server_error"}] * spec.server_errors
    for err in errors:
        calls.append(_call(next(n), level, MAIN, False, **err))
    calls += [_call(next(n), level, MAIN, False, latency=spec.slow) for _ in range(3)]
    calls.append(_call(next(n), level, MAIN, False, latency=spec.slowest))
    plain_left = 40 - len(calls)
    for k in range(plain_left):
        script = {}
        if k < spec.filter_hits:
            script["prompt_filter"] = {"hate": {"filtered": False, "severity": "low"}}
        if k == 0 and spec.extra_output_tokens:
            script["output_tokens"] = TOKENS_OUT + spec.extra_output_tokens
        calls.append(_call(next(n), level, MAIN, False, **script))
    for k in range(20):
        calls.append(_call(next(n), level, MAIN, True, latency=spec.ttft if k < 2 else 0.0))
    if spec.unpriced:
        calls.append(_call(next(n), level, PREVIEW, False))
    mini, large = _price("gpt-4o-mini"), _price("gpt-4o")
    # the agent runs; the spender's one call (on alert-batch, alone on gpt-4o with the carrier)
    # is all input tokens: the run's cost is exactly tokens / 1000 * the input price
    spend_tokens = round(spec.run_cost_usd / large["input"] * 1000)
    spender = _call(next(n), level, BATCH, False, input_tokens=spend_tokens, output_tokens=0)
    spender.in_agent = True
    calls.append(spender)
    agents = _agent_runs(level, spec, spender.id)
    # the cost carrier: everything else's cost, topped up to the target with input tokens
    ok_main = [c for c in calls if c.model == MAIN and "status" not in c.script]
    main_cost = (
        sum(
            c.script["input_tokens"] / 1000 * mini["input"]
            + c.script["output_tokens"] / 1000 * mini["output"]
            for c in ok_main
        )
        + spend_tokens / 1000 * large["input"]
    )
    batch_tokens = round((COST_TARGET_USD[level] - main_cost) / large["input"] * 1000)
    calls.append(_call(next(n), level, BATCH, False, input_tokens=batch_tokens, output_tokens=0))
    chains = [
        {"id": f"{level}-r{k}", "scores": [] if k < spec.empty_retrievals else [0.8, 0.4]}
        for k in range(20)
    ]
    return Workload(f"alerts-{level}", calls, concurrency=24, chains=chains, agents=agents)


def _agent_runs(level: str, spec: Level, spender_call: str) -> list[dict[str, Any]]:
    def tool(name: str, error: bool = False) -> dict[str, Any]:
        return {"tool": name, "error": error, "sleep": 0.001}

    runs: list[dict[str, Any]] = []
    for k in range(20):  # 10 of them call the lookup tool, the first `tool_errors` failing
        steps = [tool(LOOKUP_TOOL, error=k < spec.tool_errors)] if k < 10 else [tool(STEP_TOOL)]
        fail = k >= 20 - spec.failed_runs
        runs.append({"id": f"{level}-t{k}", "agent": AGENT_TRIAGE, "fail": fail, "steps": steps})
    loop = [tool(STEP_TOOL) for _ in range(spec.loop_steps)]
    runs.append({"id": f"{level}-loop", "agent": AGENT_LOOPER, "fail": False, "steps": loop})
    spend = [{"call": spender_call}]
    runs.append({"id": f"{level}-spend", "agent": AGENT_SPENDER, "fail": False, "steps": spend})
    return runs
