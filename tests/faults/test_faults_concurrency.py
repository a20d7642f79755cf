"""The SDK under 8 threads and under asyncio concurrency: every call recorded once, under its
own parent span, with no SDK failure and the same answers as without it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import llm_insights
import pytest
from llm_insights import _guard
from llm_insights import contract as c
from support.otel import Telemetry

from .conftest import MESSAGES, llm_client

THREADS = 8
PER_THREAD = 40


@pytest.fixture
def memory(telemetry: Telemetry) -> Iterator[Telemetry]:
    """The shared in-memory pipeline, with the openai client patched."""
    llm_insights.instrument_openai()
    yield telemetry


def _check(t: Telemetry, n: int) -> None:
    finished = t.spans()
    chains = {s.context.span_id: s for s in finished if s.name.startswith("chain")}
    llm = [s for s in finished if s.name.startswith(c.OPERATION_CHAT)]
    assert len(llm) == n and len(chains) == n
    for s in llm:  # each LLM span sits under the chain span of the task that made the call
        parent = chains[s.parent.span_id]
        assert parent.attributes[c.ENDUSER_ID] == s.attributes[c.ENDUSER_ID]
    assert t.total(c.OPERATION_DURATION.name) == n
    assert t.total(c.TOKEN_USAGE.name) == 2 * n  # input and output, once per call


def test_eight_threads(memory) -> None:
    client = llm_client()
    before = sum(_guard.error_counts().values())
    failures: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def work(t: int) -> None:
        try:
            barrier.wait()
            for i in range(PER_THREAD):
                with llm_insights.attributes(user_id=f"u{t}-{i}"), llm_insights.chain("ask"):
                    resp = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
                    assert resp.choices[0].message.content == "ok"
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not failures, failures[:3]
    _check(memory, THREADS * PER_THREAD)
    assert sum(_guard.error_counts().values()) == before


def test_asyncio_gather(memory) -> None:
    client = llm_client(async_=True)
    before = sum(_guard.error_counts().values())

    async def one(i: int) -> str:
        with llm_insights.attributes(user_id=f"a{i}"), llm_insights.chain("ask"):
            await asyncio.sleep(0)  # interleave the tasks inside their spans
            resp = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            await asyncio.sleep(0)
            return resp.id

    async def main() -> list[str]:
        return await asyncio.gather(*(one(i) for i in range(200)))

    ids = asyncio.run(main())
    assert len(set(ids)) == 200
    _check(memory, 200)
    assert sum(_guard.error_counts().values()) == before
