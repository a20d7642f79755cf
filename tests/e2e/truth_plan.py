"""Workloads with known truth for the end-to-end tests, and the truth computed from them.

Everything that can be exact is planned exactly (call counts, errors, tokens, hence cost);
latency and time to first token are scripted on the stand-in at values kept at least 50 ms below
(and 10 ms above) every percentile bucket bound. The SDK's measurement of a call lies between two
clocks the test knows: the wait the stand-in was told to hold back (it happens inside the SDK's
span — the floor) and what the client measured around the call (the SDK starts after it and ends
before it). Both are kept per call, so "the reported percentile lies between the floors' and the
client's" is a check no machine load can flip, and on a quiet machine the two fall in one bucket.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llm_insights import contract as c

# The truth child's service.name (cloud_RoleName on every row it sends), and a second app's.
SERVICE = "truth-app"
OTHER_SERVICE = "triage-agent"

# The bill, written down independently of the SDK's code: list prices in USD per 1M tokens
# (input, output, cached input; None: no cached rate), as OpenAI's price page states them and
# genai-prices 0.2.3 records them. Dated versions are listed by name: a version priced apart
# (gpt-4o-2024-05-13) has its own line. A model not here is unpriced.
BILLING: dict[str, tuple[float, float, float | None]] = {
    "gpt-4o-mini": (0.15, 0.6, 0.075),
    "gpt-4o-mini-2024-07-18": (0.15, 0.6, 0.075),
    "gpt-4o": (2.5, 10.0, 1.25),
    "gpt-4o-2024-08-06": (2.5, 10.0, 1.25),
    "gpt-4o-2024-11-20": (2.5, 10.0, 1.25),
    "gpt-4o-2024-05-13": (5.0, 15.0, None),
    "gpt-4.1-nano-2025-04-14": (0.1, 0.4, 0.025),
    "o4-mini-2025-04-16": (1.1, 4.4, 0.275),
    "gpt-5-mini-2025-08-07": (0.25, 2.0, 0.025),
}

MINI = "gpt-4o-mini"
LARGE = "gpt-4o"
UNPRICED = "contoso-unpriced-preview"
AZURE_DEPLOYMENT = "truth-chat"
DEPLOYMENTS = {AZURE_DEPLOYMENT: "gpt-4o-mini-2024-07-18"}
THROTTLED = "429"
RETRIEVER = "truth-kb"  # the retriever and tool names the child uses
TOOL = "lookup_drug_price"

# Scripted latency ranges (seconds): inside one duration bucket each, away from its bounds.
LATENCY_RANGES: tuple[tuple[float, float], ...] = (
    (0.0, 0.04), (0.11, 0.19), (0.27, 0.44), (0.52, 0.69), (0.77, 0.94),
)  # fmt: skip
LATENCY_WEIGHTS = (30, 30, 20, 12, 8)
# Streams: time to first token ranges, inside one TTFT bucket each (bounds .2 .3 .5 .75).
TTFT_RANGES: tuple[tuple[float, float], ...] = (
    (0.11, 0.14),
    (0.21, 0.24),
    (0.31, 0.44),
    (0.51, 0.69),
)
TTFT_WEIGHTS = (35, 30, 20, 15)
# Completion lengths (characters), inside the response-length buckets (bounds 50 100 200 500 1000).
TEXT_LENGTHS = (31, 77, 143, 377, 733)
TEXT_WEIGHTS = (30, 30, 20, 15, 5)
REFUSAL_TEXT = "I'm sorry, but I can't help with that request."
MARKER_TEXT = "As of my last knowledge update, the study (Smith et al., 2019) reported 42%."


def billed(
    rates: tuple[float, float, float | None], input_tokens: int, output_tokens: int, cached: int = 0
) -> tuple[float, float]:
    """(input USD, output USD) of one call at *rates* (per 1M): cached input at the cached rate
    (the input rate when there is none); reasoning tokens are inside the output count."""
    inp, out, cached_rate = rates
    cached_rate = inp if cached_rate is None else cached_rate
    return ((input_tokens - cached) * inp + cached * cached_rate) / 1e6, output_tokens * out / 1e6


def bucket_of(value: float, bounds: Sequence[float]) -> float:
    """The upper bound of the (non-cumulative) bucket holding *value*; inf past the last."""
    for b in bounds:
        if value <= b:
            return float(b)
    return math.inf


def nearest_rank(values: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile: the smallest value with at least percent% at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _pick(rng: random.Random, ranges: Sequence[tuple[float, float]], weights: Sequence[int]):
    low, high = rng.choices(ranges, weights=weights)[0]
    return round(rng.uniform(low, high), 3)


@dataclass
class PlannedCall:
    id: str
    api: str  # openai | azure
    model: str  # request model (Azure: the deployment)
    stream: bool
    script: dict[str, Any]
    error: str | None = None  # expected error.type: HTTP status or "content_filter"
    input_tokens: int = 0
    output_tokens: int = 0
    response_model: str | None = None
    prompt_filter_hits: int = 0
    completion_filter_hits: int = 0
    refusal: bool = False
    marker: bool = False
    in_agent: bool = False  # made inside an agent run (the child runs it there, not in the pool)

    @property
    def text_length(self) -> int:
        return len(self.script.get("text", ""))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "api": self.api,
            "model": self.model,
            "stream": self.stream,
            "script": self.script,
            "in_agent": self.in_agent,
        }


@dataclass
class Workload:
    name: str
    calls: list[PlannedCall]
    concurrency: int = 16
    chains: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[tuple[str, float]] = field(default_factory=list)
    evaluations: list[tuple[str, str, float, str]] = field(default_factory=list)
    # agent runs: {"id", "agent", "fail", "steps": [{"call": id} | {"tool", "error", "sleep"} |
    # {"agent": run}]}; their calls are in `calls` too (in_agent)
    agents: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "calls": [call.to_json() for call in self.calls],
            "agents": self.agents,
            "chains": self.chains,
            "feedback": [list(f) for f in self.feedback],
            "evaluations": [list(e) for e in self.evaluations],
        }


def _text(rng: random.Random) -> str:
    length = rng.choices(TEXT_LENGTHS, weights=TEXT_WEIGHTS)[0]
    words = ("dose", "tablet", "refill", "generic", "price", "pharmacy", "delivery", "insulin")
    text = ""
    while len(text) < length:
        text += rng.choice(words) + " "
    return text[: length - 1] + "."


def _ok(rng: random.Random, i: int, api: str, model: str, stream: bool, **script: Any):
    input_tokens = rng.randint(20, 900)
    output_tokens = rng.randint(5, 300)
    if stream:
        latency = _pick(rng, TTFT_RANGES, TTFT_WEIGHTS)
    else:
        latency = _pick(rng, LATENCY_RANGES, LATENCY_WEIGHTS)
    s = {
        "text": _text(rng),
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "latency": latency,
        "response_id": f"resp-{i}",
        **script,
    }
    response_model = DEPLOYMENTS.get(model, model) if api == "azure" else model
    return PlannedCall(
        f"c{i}", api, model, stream, s, None, input_tokens, output_tokens, response_model
    )


def main_workload(seed: int = 20261125) -> Workload:
    """~200 calls over two models, Azure and OpenAI paths, streams, errors, filters, unpriced."""
    rng = random.Random(seed)
    calls: list[PlannedCall] = []
    i = 0

    def nxt() -> int:
        nonlocal i
        i += 1
        return i

    for _ in range(70):
        calls.append(_ok(rng, nxt(), "openai", MINI, stream=False))
    for _ in range(25):
        calls.append(_ok(rng, nxt(), "openai", LARGE, stream=False))
    for _ in range(20):
        calls.append(_ok(rng, nxt(), "openai", MINI, stream=True))
    for _ in range(12):
        calls.append(_ok(rng, nxt(), "openai", LARGE, stream=True))
    for k in range(24):  # Azure path: low-severity prompt annotations, some filtered completions
        call = _ok(rng, nxt(), "azure", AZURE_DEPLOYMENT, stream=False)
        if k % 4 == 0:
            call.script["prompt_filter"] = {"hate": {"filtered": False, "severity": "low"}}
            call.prompt_filter_hits = 1
        if k % 6 == 1:
            call.script["finish_reason"] = "content_filter"
            call.script["completion_filter"] = {
                "violence": {"filtered": True, "severity": "medium"}
            }
            call.completion_filter_hits = 1
        calls.append(call)
    for _ in range(10):
        calls.append(_ok(rng, nxt(), "openai", UNPRICED, stream=False))
    for k in range(10):  # quality signals: refusals and hallucination markers, known counts
        refusal = k < 6
        call = _ok(rng, nxt(), "openai", MINI, stream=k % 3 == 0)
        call.script["text"] = REFUSAL_TEXT if refusal else MARKER_TEXT
        call.refusal, call.marker = refusal, not refusal
        calls.append(call)
    for _ in range(14):
        n = nxt()
        calls.append(
            PlannedCall(
                f"c{n}", "openai", MINI, False, {"status": 500, "error_code": "server_error"}, "500"
            )
        )
    for _ in range(9):
        n = nxt()
        calls.append(
            PlannedCall(
                f"c{n}",
                "openai",
                LARGE,
                False,
                {"status": 429, "error_code": "rate_limit_exceeded", "retry_after": 1},
                THROTTLED,
            )
        )
    for _ in range(6):
        n = nxt()
        calls.append(
            PlannedCall(
                f"c{n}",
                "azure",
                AZURE_DEPLOYMENT,
                False,
                {
                    "status": 400,
                    "error_code": "content_filter",
                    "error_message": "The response was filtered (prompt).",
                    "prompt_filter": {"violence": {"filtered": True, "severity": "high"}},
                },
                "content_filter",
                prompt_filter_hits=1,
            )
        )
    rng.shuffle(calls)
    chains = []
    # 40 traces of retrieval + tool: with 25 % trace sampling the chance that no retrieval span
    # is kept (an empty drill-down panel) is 0.75**40 ≈ 1e-5.
    for k in range(40):
        docs = rng.randint(0, 4) if k % 5 else 0
        scores = sorted((round(rng.uniform(0.12, 0.97), 3) for _ in range(docs)), reverse=True)
        chains.append(
            {"id": f"chain{k}", "scores": scores, "tool": k % 2 == 0, "tool_error": k % 6 == 0}
        )
    ok_ids = [cl.script["response_id"] for cl in calls if cl.error is None]
    feedback = [(rid, rng.choice([-1.0, 1.0, 1.0])) for rid in rng.sample(ok_ids, 15)]
    ok = [cl for cl in calls if cl.error is None]
    evaluations = [
        (
            cl.script["response_id"],
            "groundedness",
            round(rng.uniform(0.2, 1.0), 2),
            cl.response_model,
        )
        for cl in rng.sample(ok, 12)
    ]
    agent_calls, agents = agent_workload(seed)
    return Workload("main", calls + agent_calls, 16, chains, feedback, evaluations, agents)


# Agents in the main workload. Their own random stream, so the rest of the plan is unchanged.
# With 25 % trace sampling every drill-down list must still get rows: 40 priced triage runs (the
# most-expensive list empty with probability 0.75**40 ≈ 1e-5) and 30 failed escalation runs
# (0.75**30 ≈ 2e-4).
TRIAGE, BILLING_AGENT, PRICING, ESCALATION = "triage", "billing", "pricing", "escalation"
AGENT_TOOLS = ("lookup_order", "search_kb", "page_oncall", "quote_price")
# agent LLM calls answer within the two fastest latency ranges: runs stay short
AGENT_LATENCY = (LATENCY_RANGES[0], LATENCY_RANGES[1])


def agent_workload(seed: int) -> tuple[list[PlannedCall], list[dict[str, Any]]]:
    rng = random.Random(seed + 13)
    calls: list[PlannedCall] = []

    def call(model: str = MINI, error: str | None = None) -> dict[str, str]:
        n = len(calls) + 1
        if error is None:
            planned = _ok(rng, n, "openai", model, stream=False)
            planned.script["latency"] = _pick(rng, AGENT_LATENCY, (1, 1))
        else:
            script = {"status": 500, "error_code": "server_error"}
            planned = PlannedCall(f"c{n}", "openai", model, False, script, error)
        planned.id = f"a{n}"
        planned.script["response_id"] = f"agent-{n}"
        planned.in_agent = True
        calls.append(planned)
        return {"call": planned.id}

    def tool(name: str, error: bool = False) -> dict[str, Any]:
        return {"tool": name, "error": error, "sleep": round(rng.uniform(0.001, 0.03), 3)}

    runs: list[dict[str, Any]] = []
    for k in range(40):  # triage: 1-3 LLM calls around 0-3 tools, some tool errors
        steps: list[dict[str, Any]] = [call()]
        for _ in range(rng.randint(0, 3)):
            steps.append(tool(rng.choice(AGENT_TOOLS[:2]), error=rng.random() < 0.2))
            if rng.random() < 0.5:
                steps.append(call())
        runs.append({"id": f"triage-{k}", "agent": TRIAGE, "fail": False, "steps": steps})
    for k in range(8):  # billing: a nested pricing agent; two runs call an unpriced model, one
        # run has a failed call (usage unknown): their cost is unknown
        nested = {
            "id": f"pricing-{k}",
            "agent": PRICING,
            "fail": False,
            "steps": [call(UNPRICED if k < 2 else MINI), tool("quote_price")],
        }
        steps = [call(), {"agent": nested}, call(error="500") if k == 2 else call()]
        runs.append({"id": f"billing-{k}", "agent": BILLING_AGENT, "fail": False, "steps": steps})
    for k in range(40):  # escalation: pages on-call and gives up three times in four
        steps = [tool("page_oncall", error=k % 8 == 0)]
        runs.append(
            {"id": f"escalation-{k}", "agent": ESCALATION, "fail": k % 4 != 0, "steps": steps}
        )
    return calls, runs


# Quality drift: a baseline of 110 responses without refusals, then 25 "current" responses with
# 2 (0.08: drift score 0.8) or 3 (0.12: drift score 1.2) refusals; every text has the refusal's
# length, so only the refusal rate moves (the rule's limit: a change of 0.10).
DRIFT_LEVELS = ("below", "above")
DRIFT_BASELINE, DRIFT_CURRENT = 110, 25
DRIFT_REFUSALS = {"below": 2, "above": 3}
DRIFT_TEXT = ("Refills can be requested seven days ahead, too" + "." * 47)[: len(REFUSAL_TEXT)]


def drift_workload(level: str, part: str) -> Workload:
    n = DRIFT_BASELINE if part == "baseline" else DRIFT_CURRENT
    refusals = 0 if part == "baseline" else DRIFT_REFUSALS[level]
    calls = []
    for k in range(n):
        cid = f"drift-{level}-{part}-{k}"
        script = {
            "text": REFUSAL_TEXT if k < refusals else DRIFT_TEXT,
            "input_tokens": 100,
            "output_tokens": 20,
            "response_id": cid,
        }
        call = PlannedCall(cid, "openai", MINI, False, script, None, 100, 20, MINI)
        call.refusal = k < refusals
        calls.append(call)
    return Workload(f"drift-{level}-{part}", calls, concurrency=16)


# ---------------------------------------------------------------------------------------------
# The truth of a run
# ---------------------------------------------------------------------------------------------
@dataclass
class ModelTruth:
    calls: int = 0
    errors: int = 0
    throttled: int = 0
    streams: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_input: float = 0.0
    cost_output: float = 0.0
    unpriced: int = 0
    durations: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    duration_floors: list[float] = field(default_factory=list)  # the stand-in's scripted waits
    ttft_floors: list[float] = field(default_factory=list)


@dataclass
class AgentTruth:
    runs: int = 0
    failed: int = 0
    durations: list[float] = field(default_factory=list)
    model_calls: int = 0
    tool_calls: int = 0
    steps: list[int] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)  # per priced run
    token_runs: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    unknown_cost_runs: int = 0
    # (model calls, tool calls) of each run, for the drill-down rows
    shapes: set[tuple[int, int]] = field(default_factory=set)


@dataclass
class Truth:
    """What the dashboards must show for a workload, from the plan and the client's clocks."""

    models: dict[str, ModelTruth]
    errors_by_type: Counter[str]
    durations: list[float]
    ttfts: list[float]
    prompt_filter_hits: int
    completion_filter_hits: int
    retrievals: int
    empty_retrievals: int
    top_scores: list[float]
    tool_calls: int
    feedback_scores: list[float]
    evaluations: list[tuple[str, str, float, str]]
    # per response model: response lengths, refusals, hallucination markers
    lengths: dict[str, list[int]]
    refusals: dict[str, int]
    markers: dict[str, int]
    tool_errors: int
    documents: list[int]
    # per response model ("" for failed calls, which have none): measured durations
    by_response_model: dict[str, list[float]]
    # calls per (deployment or "", request model, response model or "")
    versions: Counter[tuple[str, str, str]]
    agents: dict[str, AgentTruth] = field(default_factory=dict)
    # tool calls and errors per (tool, agent name or "" outside agents), chains' tool included
    tool_calls_by: Counter[tuple[str, str]] = field(default_factory=Counter)
    tool_errors_by: Counter[tuple[str, str]] = field(default_factory=Counter)
    # the floors of ``durations``, ``ttfts`` and ``by_response_model``, call by call
    duration_floors: list[float] = field(default_factory=list)
    ttft_floors: list[float] = field(default_factory=list)
    floors_by_response_model: dict[str, list[float]] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return sum(m.calls for m in self.models.values())

    @property
    def errors(self) -> int:
        return sum(m.errors for m in self.models.values())

    @property
    def throttled(self) -> int:
        return sum(m.throttled for m in self.models.values())

    @property
    def input_tokens(self) -> int:
        return sum(m.input_tokens for m in self.models.values())

    @property
    def output_tokens(self) -> int:
        return sum(m.output_tokens for m in self.models.values())

    @property
    def cost(self) -> float:
        return sum(m.cost_input + m.cost_output for m in self.models.values())

    @property
    def unpriced(self) -> int:
        return sum(m.unpriced for m in self.models.values())


def _agent_truth(
    workload: Workload, run_durations: dict[str, float]
) -> tuple[dict[str, AgentTruth], Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """Per agent: runs, failures, steps, tokens and cost per run (nested runs count for their
    caller too, and are runs of their own); tool calls/errors per (tool, innermost agent)."""
    calls = {cl.id: cl for cl in workload.calls}
    agents: dict[str, AgentTruth] = defaultdict(AgentTruth)
    tool_calls: Counter[tuple[str, str]] = Counter()
    tool_errors: Counter[tuple[str, str]] = Counter()

    def walk(run: dict[str, Any]) -> tuple[int, int, int, int, bool, float, bool]:
        mc = tc = tin = tout = 0
        tokens_known = cost_known = True
        cost = 0.0
        for step in run["steps"]:
            if "call" in step:
                cl = calls[step["call"]]
                mc += 1
                if cl.error is not None:
                    tokens_known = cost_known = False
                    continue
                tin += cl.input_tokens
                tout += cl.output_tokens
                rates = BILLING.get(cl.response_model or cl.model)
                if rates is None:
                    cost_known = False
                else:
                    cost += sum(billed(rates, cl.input_tokens, cl.output_tokens))
            elif "tool" in step:
                tc += 1
                tool_calls[(step["tool"], run["agent"])] += 1
                tool_errors[(step["tool"], run["agent"])] += bool(step.get("error"))
            else:
                n = walk(step["agent"])
                mc, tc, tin, tout = mc + n[0], tc + n[1], tin + n[2], tout + n[3]
                tokens_known &= n[4]
                cost += n[5]
                cost_known &= n[6]
        a = agents[run["agent"]]
        a.runs += 1
        a.failed += bool(run.get("fail"))
        a.durations.append(run_durations[run["id"]])
        a.model_calls += mc
        a.tool_calls += tc
        a.steps.append(mc + tc)
        a.shapes.add((mc, tc))
        if tokens_known:
            a.token_runs += 1
            a.input_tokens += tin
            a.output_tokens += tout
        if cost_known:
            a.costs.append(cost)
        else:
            a.unknown_cost_runs += 1
        return mc, tc, tin, tout, tokens_known, cost, cost_known

    for run in workload.agents:
        walk(run)
    return dict(agents), tool_calls, tool_errors


def held(script: dict[str, Any], stream: bool) -> float:
    """What the stand-in holds back before a call's answer (a stream's first content chunk):
    inside the SDK's span, so no less than the SDK measures."""
    wait = float(script.get("latency", 0.0))
    if stream and int(script.get("status", 200)) == 200:
        wait += float(script.get("ttft") or 0.0)
    return wait


def truth_of(
    workload: Workload,
    measured: list[dict[str, Any]],
    agent_runs: Sequence[dict[str, Any]] = (),
) -> Truth:
    """The truth of *workload*, given the per-call (and per agent run) measurements the child
    reported."""
    by_id = {m["id"]: m for m in measured}
    models: dict[str, ModelTruth] = defaultdict(ModelTruth)
    errors: Counter[str] = Counter()
    durations, ttfts, duration_floors, ttft_floors = [], [], [], []
    floors_by_response_model: dict[str, list[float]] = defaultdict(list)
    prompt_hits = completion_hits = 0
    lengths: dict[str, list[int]] = defaultdict(list)
    refusals: Counter[str] = Counter()
    markers: Counter[str] = Counter()
    by_response_model: dict[str, list[float]] = defaultdict(list)
    versions: Counter[tuple[str, str, str]] = Counter()
    for call in workload.calls:
        got = by_id[call.id]
        m = models[call.model]
        response_model = "" if call.error else (call.response_model or call.model)
        floor = held(call.script, call.stream)
        by_response_model[response_model].append(got["duration"])
        floors_by_response_model[response_model].append(floor)
        versions[(call.model if call.api == "azure" else "", call.model, response_model)] += 1
        m.calls += 1
        m.durations.append(got["duration"])
        durations.append(got["duration"])
        m.duration_floors.append(floor)
        duration_floors.append(floor)
        expected_status = int(call.script.get("status", 200))
        actual = got["error"] or 200
        if actual != expected_status:
            raise AssertionError(
                f"{call.id}: stand-in answered {actual}, planned {expected_status}"
            )
        prompt_hits += call.prompt_filter_hits
        completion_hits += call.completion_filter_hits
        if call.error is not None:
            m.errors += 1
            m.throttled += call.error == THROTTLED
            errors[call.error] += 1
            continue
        m.input_tokens += call.input_tokens
        m.output_tokens += call.output_tokens
        response_model = call.response_model or call.model
        lengths[response_model].append(call.text_length)
        refusals[response_model] += call.refusal
        markers[response_model] += call.marker
        rates = BILLING.get(call.response_model or call.model)
        if rates is None:
            m.unpriced += 1
        else:
            cin, cout = billed(rates, call.input_tokens, call.output_tokens)
            m.cost_input += cin
            m.cost_output += cout
        if call.stream:
            m.streams += 1
            m.ttfts.append(got["ttft"])
            ttfts.append(got["ttft"])
            m.ttft_floors.append(floor)
            ttft_floors.append(floor)
    top_scores = [max(ch["scores"]) for ch in workload.chains if ch["scores"]]
    run_durations = {r["id"]: r["duration"] for r in agent_runs}
    agents, tool_calls_by, tool_errors_by = _agent_truth(workload, run_durations)
    for ch in workload.chains:
        if ch.get("tool"):
            tool_calls_by[(TOOL, "")] += 1
            tool_errors_by[(TOOL, "")] += bool(ch.get("tool_error"))
    return Truth(
        dict(models),
        errors,
        durations,
        ttfts,
        prompt_hits,
        completion_hits,
        retrievals=len(workload.chains),
        empty_retrievals=sum(1 for ch in workload.chains if not ch["scores"]),
        top_scores=top_scores,
        tool_calls=sum(1 for ch in workload.chains if ch.get("tool")),
        tool_errors=sum(1 for ch in workload.chains if ch.get("tool") and ch.get("tool_error")),
        documents=[len(ch["scores"]) for ch in workload.chains],
        by_response_model=dict(by_response_model),
        versions=versions,
        feedback_scores=[s for _, s in workload.feedback],
        evaluations=list(workload.evaluations),
        lengths=dict(lengths),
        refusals=dict(refusals),
        markers=dict(markers),
        agents=agents,
        tool_calls_by=tool_calls_by,
        tool_errors_by=tool_errors_by,
        duration_floors=duration_floors,
        ttft_floors=ttft_floors,
        floors_by_response_model=dict(floors_by_response_model),
    )


# ---------------------------------------------------------------------------------------------
# Cost truth: a workload with known billing
# ---------------------------------------------------------------------------------------------
ROUTER = "model-router"  # Azure's model router deployment: each response names its model
DATA_ZONE = "truth-eu"  # a Data Zone Standard deployment, priced by the override file
PTU = "truth-ptu"  # a provisioned (PTU) deployment: billed by the hour
UNKNOWN_SERVED = "gpt-4o-contoso-experimental"  # served for a request to gpt-4o: no price
COST_DEPLOYMENTS = {DATA_ZONE: "gpt-4.1-2025-04-14", PTU: "gpt-4o-2024-11-20"}
# The SDK's deployment map in the child (LLM_INSIGHTS_PRICING_DEPLOYMENTS)
PRICING_DEPLOYMENTS = {
    DATA_ZONE: {"model": "gpt-4.1", "type": c.DEPLOYMENT_TYPE_DATA_ZONE_STANDARD},
    PTU: {"model": "gpt-4o", "type": c.DEPLOYMENT_TYPES_PROVISIONED[-1]},
    ROUTER: {"type": c.DEPLOYMENT_TYPE_GLOBAL_STANDARD},
}
# The price override file of the child (LLM_INSIGHTS_PRICES_FILE): a contract's Data Zone rates
OVERRIDE_VERSION = "truth-contract-2026-11"
RATE_KEYS = ("input", "output", "cached_input")
DATA_ZONE_RATES = (2.2, 8.8, 0.55)  # per 1M: gpt-4.1 on Data Zone Standard (10 % over Global)
PRICE_OVERRIDES = {
    "version": OVERRIDE_VERSION,
    "unit": "per 1M tokens",
    "currency": "USD",
    "models": {
        "gpt-4.1": {
            "input": 2.0,
            "output": 8.0,
            "cached_input": 0.5,
            "data_zone": dict(zip(RATE_KEYS, DATA_ZONE_RATES, strict=True)),
        }
    },
}


@dataclass
class CostRow:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    unpriced: int = 0


@dataclass
class CostTruth:
    # per (served model, deployment or "", deployment type or "")
    rows: dict[tuple[str, str, str], CostRow]
    # per price source ("shipped" or OVERRIDE_VERSION): USD
    by_source: dict[str, float]

    @property
    def cost(self) -> float:
        return sum(r.cost for r in self.rows.values())

    @property
    def unpriced(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for (model, _, _), r in self.rows.items():
            if r.unpriced:
                out[model] += r.unpriced
        return dict(out)


def cost_workload(seed: int = 20261203) -> tuple[Workload, CostTruth]:
    """Every billing case once or more, with the bill computed from BILLING / DATA_ZONE_RATES."""
    rng = random.Random(seed)
    calls: list[PlannedCall] = []
    rows: dict[tuple[str, str, str], CostRow] = defaultdict(CostRow)
    by_source: dict[str, float] = defaultdict(float)

    def add(api, model, served, n, deployment="", dtype="", rates=None, source="shipped", **extra):
        for _ in range(n):
            i = len(calls) + 1
            inp, out = rng.randint(100, 5000), rng.randint(10, 2000)
            script = {"input_tokens": inp, "output_tokens": out, "model": served, **extra}
            if "cached_tokens" in extra:
                script["cached_tokens"] = cached = rng.randint(0, inp)
            else:
                cached = 0
            if "reasoning_tokens" in extra:
                script["reasoning_tokens"] = rng.randint(0, out)
            calls.append(PlannedCall(f"cost{i}", api, model, False, script, None, inp, out, served))
            row = rows[(served, deployment, dtype)]
            row.calls += 1
            row.input_tokens += inp
            row.output_tokens += out
            if dtype in c.DEPLOYMENT_TYPES_PROVISIONED:
                continue  # billed by the hour: no per-token cost, not unpriced
            rates = rates or BILLING.get(served)
            if rates is None:
                row.unpriced += 1
                continue
            cost = sum(billed(rates, inp, out, cached))
            row.cost += cost
            by_source[source] += cost

    gs = c.DEPLOYMENT_TYPE_GLOBAL_STANDARD
    for served in ("gpt-4.1-nano-2025-04-14", "o4-mini-2025-04-16", "gpt-5-mini-2025-08-07"):
        add("azure", ROUTER, served, 6, ROUTER, gs, reasoning_tokens=True)
    add("openai", "gpt-4o", UNKNOWN_SERVED, 5)  # never priced as gpt-4o
    add("openai", "gpt-4o", "gpt-4o-2024-08-06", 5)  # a dated version: its family's price
    add("openai", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13", 4)  # a version priced apart
    add("openai", "o4-mini", "o4-mini-2025-04-16", 5, reasoning_tokens=True)
    add("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", 5, cached_tokens=True)
    add("azure", DATA_ZONE, COST_DEPLOYMENTS[DATA_ZONE], 6, DATA_ZONE,
        c.DEPLOYMENT_TYPE_DATA_ZONE_STANDARD, DATA_ZONE_RATES, OVERRIDE_VERSION,
        cached_tokens=True)  # fmt: skip
    add("azure", PTU, COST_DEPLOYMENTS[PTU], 5, PTU, c.DEPLOYMENT_TYPES_PROVISIONED[-1])
    for call in calls:  # the Azure stand-in names the deployment's model unless scripted
        if call.model in COST_DEPLOYMENTS:
            del call.script["model"]
    rng.shuffle(calls)
    return Workload("cost", calls, 8), CostTruth(dict(rows), dict(by_source))
