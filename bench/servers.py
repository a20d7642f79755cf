"""The loopback LLM stand-in and ingestion endpoint, in a process of their own.

Benchmarked clients must not share a GIL with the servers they talk to (server threads would
steal time from the measured calls), so both servers run in one child process and the parent
drives them over a pipe: read the ingestion counters, clear them, inject faults.
"""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import asdict
from typing import Any

#: Scenario names the benchmark clients pick with the ``x-standin-scenario`` header.
SCENARIO_HEADER = "x-standin-scenario"
CHAT = "bench-chat"
STREAM_SHORT = "bench-stream-short"
STREAM_LONG = "bench-stream-long"
SHORT_CHUNKS = 8
LONG_CHUNKS = 128


def _serve(conn: Any) -> None:
    from llm_insights_kit.fake_openai.scripted import Scripted
    from llm_insights_kit.fake_openai.server import FakeOpenAI
    from llm_insights_kit.local.ingest import IngestServer

    fake_openai = FakeOpenAI().start()
    # zero latency, realistic usage; streams differ only in their number of content chunks
    fake_openai.scenarios[CHAT] = Scripted(input_tokens=412, output_tokens=96, cached_tokens=128)
    fake_openai.scenarios[STREAM_SHORT] = Scripted(chunks=[f"w{i} " for i in range(SHORT_CHUNKS)])
    fake_openai.scenarios[STREAM_LONG] = Scripted(chunks=[f"w{i} " for i in range(LONG_CHUNKS)])
    ingest = IngestServer().start()
    conn.send({"fake_openai": fake_openai.base_url, "ingest": ingest.url})
    while True:
        cmd, arg = conn.recv()
        if cmd == "stats":
            envelopes = ingest.envelopes
            conn.send({**asdict(ingest.stats), "envelopes": envelopes if arg else None})
        elif cmd == "clear":
            ingest.clear()
            fake_openai.reset()
            conn.send(True)
        elif cmd == "fault":
            ingest.set_fault(**arg)
            conn.send(True)
        elif cmd == "stop":
            fake_openai.stop()
            ingest.stop()
            conn.send(True)
            return


class Servers:
    """Start both servers in a spawned process; use as a context manager."""

    def __init__(self) -> None:
        self._ctx = mp.get_context("spawn")
        self._conn, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=_serve, args=(child,), daemon=True)
        self.standin_url = ""
        self.ingest_url = ""

    def __enter__(self) -> Servers:
        self._proc.start()
        if not self._conn.poll(60):
            raise RuntimeError("benchmark servers did not start within 60 s")
        urls = self._conn.recv()
        self.standin_url, self.ingest_url = urls["fake_openai"], urls["ingest"]
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._call("stop")
        finally:
            self._proc.join(10)
            if self._proc.is_alive():
                self._proc.kill()

    def _call(self, cmd: str, arg: Any = None) -> Any:
        self._conn.send((cmd, arg))
        return self._conn.recv()

    def stats(self, with_envelopes: bool = False) -> dict[str, Any]:
        """Ingestion counters since the last clear (and the envelopes, when asked)."""
        return self._call("stats", with_envelopes)

    def clear(self) -> None:
        self._call("clear")
