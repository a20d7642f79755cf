"""The workload every framework app runs, and the truth it hands out.

The fake OpenAI server is scripted in this order (the apps run one after the other, so the
server's queue answers each request with its own script): per round, a run where the model asks
for the tool and then answers, a plain run, four streamed runs, a run whose only call is
throttled (429), the tool run again, and a run whose call fails with a 500. Five rounds give the
rules their minimum volumes (20 streamed calls for the time-to-first-token rule, 10 tool calls for
the tool rule). The truth (calls, tokens, cost, failures, tool calls) is computed here from the
scripts and the requests the server answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_insights_kit.fake_openai.scripted import Scripted

MODEL = "gpt-4o"
AGENT = "pharmacist"
TOOL = "lookup"
ROUNDS = 5  # also: more traces in a few seconds than the prod stack's rate-limited sampler keeps
STREAMED_PER_ROUND = 4
# list prices (genai-prices, as the kit ships them), USD per 1M tokens
PRICE_IN, PRICE_OUT = 2.5, 10.0


@dataclass(frozen=True)
class Run:
    """One agent run: its question, whether the app streams it, and the server's answers."""

    question: str
    stream: bool
    answers: tuple[Scripted, ...]

    @property
    def fails(self) -> bool:
        return any(a.status != 200 for a in self.answers)

    @property
    def tool_calls(self) -> int:
        return sum(len(a.tool_calls or ()) for a in self.answers)


def _tool_run(tool: str) -> Run:
    call = {"name": tool, "arguments": {"drug": "aspirin"}}
    asks = Scripted(input_tokens=40, output_tokens=9, tool_calls=[call])
    return Run("what is aspirin?", False, (asks, Scripted(input_tokens=55, output_tokens=12)))


def runs(tool: str = TOOL) -> list[Run]:
    """The workload; *tool* is the name the framework gives the app's function to the model."""
    one_round = [
        _tool_run(tool),
        Run("and ibuprofen?", False, (Scripted(input_tokens=30, output_tokens=7),)),
        *[Run("stream it", True, (Scripted(input_tokens=20, output_tokens=5, ttft=0.05),))]
        * STREAMED_PER_ROUND,
        Run("throttled", False, (Scripted(status=429, error_code="rate_limit_exceeded"),)),
        _tool_run(tool),
        Run("server error", False, (Scripted(status=500, error_code="server_error"),)),
    ]
    return one_round * ROUNDS


def script(plan: list[Run]) -> list[Scripted]:
    return [a for run in plan for a in run.answers]


@dataclass(frozen=True)
class Truth:
    calls: int
    errors: int
    throttled: int
    input_tokens: int
    output_tokens: int
    cost: float
    runs: int
    failed_runs: int
    tool_calls: int
    streamed_calls: int
    calls_without_usage: int  # answered, but no usage handed out (a stream that did not ask)

    @classmethod
    def of(cls, plan: list[Run], bodies: list[dict[str, Any]]) -> Truth:
        """*bodies*: the requests the server answered, in order (a streamed answer carries
        usage only when the request asked for it)."""
        answers = script(plan)
        ok = [a for a in answers if a.status == 200]
        with_usage = [a for a, b in zip(answers, bodies, strict=True) if _usage_sent(a, b)]
        tokens_in = sum(a.input_tokens or 0 for a in with_usage)
        tokens_out = sum(a.output_tokens or 0 for a in with_usage)
        return cls(
            calls=len(answers),
            errors=len(answers) - len(ok),
            throttled=sum(a.status == 429 for a in answers),
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost=(tokens_in * PRICE_IN + tokens_out * PRICE_OUT) / 1e6,
            runs=len(plan),
            failed_runs=sum(r.fails for r in plan),
            tool_calls=sum(r.tool_calls for r in plan),
            streamed_calls=sum(r.stream for r in plan),
            calls_without_usage=len(ok) - len(with_usage),
        )


def _usage_sent(answer: Scripted, body: dict[str, Any]) -> bool:
    if answer.status != 200 or not answer.include_usage:
        return False
    return not body.get("stream") or bool((body.get("stream_options") or {}).get("include_usage"))
