"""The demo's workload: a healthy phase, then an incident, driven over real HTTP at the sample app.

Each phase is a list of planned requests. What the LLM stand-in answers is queued on the stand-in
(``FakeOpenAI.script``) in the same number and mix as the requests, so the totals of what went
wrong are known exactly even though concurrent requests pick their scripts in arrival order.
Every request of one phase hits the same kind of endpoint mix, so that pairing is harmless.
"""

from __future__ import annotations

import json
import random
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..fake_openai.scripted import Scripted, filter_results

# Azure deployments of the demo (the stand-in maps each to the model it "serves").
DEPLOYMENT_MAIN = "chat"
DEPLOYMENT_LARGE = "chat-large"
DEPLOYMENT_PREVIEW = "chat-preview"
DEPLOYMENTS: dict[str, str] = {
    DEPLOYMENT_MAIN: "gpt-4o-mini",
    DEPLOYMENT_LARGE: "gpt-4o",
    # A model the price table does not know: its calls are counted as unpriced, never as $0.
    DEPLOYMENT_PREVIEW: "contoso-reasoner-preview",
}

QUESTIONS: tuple[str, ...] = (
    "How much is metformin before insurance?",
    "Can I get a generic instead of the brand medicine?",
    "How long does express delivery take?",
    "How do I store an opened insulin pen?",
    "What does atorvastatin cost and is there a generic?",
    "When can I request a refill?",
    "Can I return a damaged package?",
    "Is sertraline cheaper than omeprazole?",
    "How is my co-pay calculated?",
    "Do cold-chain medicines ship express?",
    "How much is ozempic before insurance?",  # not in the formulary: the price tool fails
)
ANSWERS: tuple[str, ...] = (
    "Metformin 500 mg costs 6.90 USD for 60 tablets before insurance.",
    "Yes. A generic has the same active ingredient and usually costs much less; ask the "
    "pharmacist to substitute it.",
    "Express delivery arrives the next working day when you order before 2 pm.",
    "An opened insulin pen can be kept at room temperature for up to 28 days. Never freeze it.",
    "Refills can be requested up to 7 days before your prescription runs out.",
    # a wrong price (the formulary says 12.40): the app's price_accuracy evaluator scores it 0
    "Atorvastatin 20 mg costs 21.00 USD for 30 tablets.",
)


@dataclass(frozen=True)
class PlannedRequest:
    """One request the driver sends and the stand-in script that answers it."""

    stream: bool
    deployment: str
    question: str
    script: Scripted
    feedback: float | None = None  # score to post for the answer, if any
    # scripts for the further LLM calls of this request's agent run (queued right after
    # `script`; exact only in a phase sent one request at a time)
    more_scripts: tuple[Scripted, ...] = ()


@dataclass
class Phase:
    """A named batch of requests sent with ``concurrency`` workers."""

    name: str
    title: str
    requests: list[PlannedRequest]
    concurrency: int
    incident: bool = False


@dataclass
class Outcome:
    """What happened to the requests of one phase (HTTP status counts from the app)."""

    statuses: Counter[int] = field(default_factory=Counter)
    streams: int = 0
    feedback: int = 0
    transport_errors: int = 0

    @property
    def total(self) -> int:
        return sum(self.statuses.values()) + self.transport_errors


def _healthy_script(rng: random.Random, stream: bool) -> Scripted:
    text = rng.choice(ANSWERS)
    # Log-normal-ish latencies around 0.3 s; streams add a time to first token of 0.1-0.4 s.
    latency = min(1.2, rng.lognormvariate(-1.3, 0.35))
    return Scripted(
        text=text,
        latency=round(latency, 3),
        ttft=round(rng.uniform(0.1, 0.4), 3) if stream else None,
        chunk_interval=0.01 if stream else 0.0,
    )


def _request(
    rng: random.Random,
    script: Scripted,
    *,
    deployment: str = DEPLOYMENT_MAIN,
    stream: bool | None = None,
    feedback: tuple[float, ...] = (1, 1, 1, -1),
    feedback_rate: float = 0.3,
) -> PlannedRequest:
    return PlannedRequest(
        stream=rng.random() < 0.35 if stream is None else stream,
        deployment=deployment,
        question=rng.choice(QUESTIONS),
        script=script,
        feedback=rng.choice(feedback) if rng.random() < feedback_rate else None,
    )


# The sample app's triage agent (non-streamed /api/chat) offers the model its price tool. A
# script with tool calls makes the request that draws it run the tool and call the model once
# more; that call draws the next script in the queue (or the stand-in's default answer once the
# queue is empty), so each such script adds one LLM call and its tool calls to the phase (a
# streamed request that draws one ignores its tool calls). The question mix makes some price
# lookups fail (an unknown drug); the model's lookups of known drugs keep the healthy phase's
# tool failure rate (4 % measured; 20 % with half as many model lookups) clear of the
# tool-failure rule's 20 %.
TOOL_NAME = "lookup_drug_price"  # examples/chat-app/app/tools.py
PRICED_DRUGS = ("metformin", "lisinopril", "amoxicillin", "omeprazole")
AGENT_MAX_TURNS = 15  # the app's CHAT_AGENT_MAX_TURNS (demo default)


def _tool_call_script(rng: random.Random, *drugs: str) -> Scripted:
    script = _healthy_script(rng, False)
    script.tool_calls = [{"name": TOOL_NAME, "arguments": {"name": d}} for d in drugs]
    return script


def healthy_phase(rng: random.Random, n: int = 150) -> Phase:
    requests = []
    for i in range(n):
        stream = rng.random() < 0.35
        deployment = DEPLOYMENT_LARGE if i % 5 == 0 else DEPLOYMENT_MAIN
        script = _healthy_script(rng, stream)
        if i % 40 == 7:  # an occasional low-severity content-safety annotation, not filtered
            script.prompt_filter = filter_results(hate="low")
        if not stream and i % 3 == 1:  # the model asks for two price lookups (a two-turn run)
            script = _tool_call_script(rng, *rng.sample(PRICED_DRUGS, 2))
        requests.append(_request(rng, script, deployment=deployment, stream=stream))
    return Phase("healthy", "Healthy traffic", requests, concurrency=6)


def agent_loop(rng: random.Random, n: int = 2) -> Phase:
    """The triage agent loops: the model keeps asking for the price of a drug the formulary
    does not have, and the app gives up after AGENT_MAX_TURNS LLM calls (HTTP 502). Each run is
    15 LLM calls + 16 failing price lookups (the question's own and the model's 15) = 31 steps
    (runaway-steps rule: > 25); the 32 failed lookups also push the price tool's failure rate
    in the window past 20 % (tool-failure rule). One request at a time, so each run draws
    exactly its own AGENT_MAX_TURNS scripts."""
    requests = []
    for _ in range(n):
        turns = [_tool_call_script(rng, "ozempic") for _ in range(AGENT_MAX_TURNS)]
        question = "How much is ozempic before insurance?"
        requests.append(
            PlannedRequest(
                False, DEPLOYMENT_MAIN, question, turns[0], more_scripts=tuple(turns[1:])
            )
        )
    return Phase("agent-loop", "Incident: an agent run loops", requests, 1, incident=True)


def latency_spike(rng: random.Random, n: int = 45) -> Phase:
    """The LLM slows down: 4-9 s answers, streams wait 4-8 s for the first token.

    ~33 of the ~255 calls the main deployment gets in a window take over 5 s (13 % > 5 %, so
    p95 > 5 s: latency rule), and ~18 of its ~60 streams wait over 3 s for the first token
    (30 %: time-to-first-token rule, p95 > 3 s)."""
    requests = []
    for _ in range(n):
        stream = rng.random() < 0.4
        script = Scripted(
            text=rng.choice(ANSWERS),
            latency=round(rng.uniform(4.0, 9.0) if not stream else rng.uniform(1.0, 2.0), 3),
            ttft=round(rng.uniform(3.0, 6.0), 3) if stream else None,
            chunk_interval=0.02 if stream else 0.0,
        )
        requests.append(_request(rng, script, stream=stream, feedback=(-1, -1, 1)))
    return Phase("latency", "Incident: latency spike", requests, concurrency=24, incident=True)


def error_burst(rng: random.Random, n: int = 50) -> Phase:
    """The LLM fails: 40 % 500s and 40 % 429s (the app runs with retries off, so each is one
    failed call). Against the ~255 calls the main deployment gets in a window, 20 throttled
    calls are ~8 % (throttling rule: > 5 %) and all errors ~20 % (error-rate rule: > 5 %)."""
    server_error = Scripted(status=500, error_code="server_error")
    throttled = Scripted(status=429, error_code="rate_limit_exceeded", retry_after=1)
    scripts = [server_error] * (n * 2 // 5) + [throttled] * (n * 2 // 5)
    scripts += [_healthy_script(rng, False) for _ in range(n - len(scripts))]
    rng.shuffle(scripts)
    requests = [_request(rng, s, stream=False, feedback_rate=0) for s in scripts]
    return Phase("errors", "Incident: error burst", requests, concurrency=8, incident=True)


def content_filter_spike(rng: random.Random, n: int = 40) -> Phase:
    """Prompts and completions hit Azure content filters: 3/8 of the phase's prompts are blocked
    (HTTP 400 content_filter), 3/8 of its completions cut (finish_reason content_filter). With the
    healthy phase's few low-severity annotations that is ~34 hits over ~310 calls in the window
    (~0.11 per call; content-filter rule: > 0.05)."""
    blocked = Scripted(
        status=400,
        error_code="content_filter",
        error_message="The response was filtered due to the prompt triggering Azure OpenAI's "
        "content management policy.",
        prompt_filter=filter_results(violence=("high", True)),
    )
    cut = Scripted(
        text="I can describe the",
        finish_reason="content_filter",
        completion_filter=filter_results(self_harm=("medium", True)),
    )
    scripts = [blocked] * (n * 3 // 8) + [cut] * (n * 3 // 8)
    scripts += [_healthy_script(rng, False) for _ in range(n - len(scripts))]
    rng.shuffle(scripts)
    requests = [_request(rng, s, stream=False, feedback=(-1,)) for s in scripts]
    return Phase("content", "Incident: content-filter spike", requests, 8, incident=True)


def unpriced_model(rng: random.Random, n: int = 25) -> Phase:
    """A new deployment goes live before its model is in the price table (unpriced-model rule:
    any unpriced call)."""
    requests = [
        _request(rng, _healthy_script(rng, False), deployment=DEPLOYMENT_PREVIEW, stream=False)
        for _ in range(n)
    ]
    return Phase("unpriced", "Incident: unpriced model", requests, concurrency=6, incident=True)


def demo_phases(seed: int = 7, scale: float = 1.0) -> list[Phase]:
    """The demo plan; ``scale`` shrinks request counts (tests), keeping every mix ratio."""
    rng = random.Random(seed)

    def n(count: int) -> int:
        return max(4, round(count * scale))

    return [
        healthy_phase(rng, n(150)),
        agent_loop(rng),
        latency_spike(rng, n(45)),
        error_burst(rng, n(50)),
        content_filter_spike(rng, n(40)),
        unpriced_model(rng, n(25)),
    ]


def quiet_phase(seed: int = 11, scale: float = 1.0) -> Phase:
    """Healthy traffic for the service the incident leaves alone (its own seed)."""
    return healthy_phase(random.Random(seed), max(4, round(100 * scale)))


# ---------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------
def _post(url: str, payload: dict[str, Any], timeout: float) -> urllib.request.Request:
    return urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )


def send(app_url: str, req: PlannedRequest, timeout: float = 60.0) -> tuple[int, str | None]:
    """Send one planned request; returns (HTTP status, response id of the answer if any)."""
    path = "/api/chat/stream" if req.stream else "/api/chat"
    body = {"message": req.question, "model": req.deployment}
    try:
        with urllib.request.urlopen(_post(app_url + path, body, timeout), timeout=timeout) as resp:
            if not req.stream:
                return resp.status, json.loads(resp.read() or b"{}").get("response_id")
            response_id = None
            for raw in resp:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                if event.get("type") == "done":
                    response_id = event.get("response_id")
                elif event.get("type") == "error":
                    return 502, None
            return resp.status, response_id
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, None


def send_feedback(app_url: str, response_id: str, score: float, timeout: float = 10.0) -> int:
    body = {"response_id": response_id, "score": score}
    try:
        with urllib.request.urlopen(
            _post(app_url + "/api/feedback", body, timeout), timeout=timeout
        ) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def run_phase(
    phase: Phase,
    app_url: str,
    queue_scripts: Callable[[list[Scripted]], None],
    on_done: Callable[[int], None] = lambda _: None,
) -> Outcome:
    """Queue the phase's scripts on the stand-in, then send its requests concurrently."""
    queue_scripts([s for r in phase.requests for s in (r.script, *r.more_scripts)])
    outcome = Outcome()
    lock = threading.Lock()

    def one(req: PlannedRequest) -> None:
        try:
            status, response_id = send(app_url, req)
        except (OSError, ValueError):
            with lock:
                outcome.transport_errors += 1
            on_done(1)
            return
        posted = 0
        if response_id and req.feedback is not None and status == 200:
            posted = int(send_feedback(app_url, response_id, req.feedback) == 202)
        with lock:
            outcome.statuses[status] += 1
            outcome.streams += int(req.stream)
            outcome.feedback += posted
        on_done(1)

    with ThreadPoolExecutor(max_workers=phase.concurrency, thread_name_prefix="demo") as pool:
        list(pool.map(one, phase.requests))
    return outcome
