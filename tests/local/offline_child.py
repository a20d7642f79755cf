"""An app pointed at a local endpoint, recording every network address it tries (audit hooks).

Run by ``test_local_offline.py`` in a fresh interpreter: ``python offline_child.py OUT.json
[CALLS [SECONDS_BETWEEN [MODEL]]]`` with ``LLM_INSIGHTS_LOCAL_ENDPOINT`` set (the live-page
tests use it as "the developer's app", calls spread over time). Every ``socket.connect`` /
``socket.getaddrinfo`` / ``socket.sendto`` of the process — the app, the exporter, the
distro — is written to OUT.json at exit, after ``llm_insights.shutdown()`` flushed everything.
"""

from __future__ import annotations

import atexit
import json
import sys
import time

ATTEMPTS: list[list[str]] = []


def _audit(event: str, args: tuple) -> None:
    if event == "socket.connect" or event == "socket.sendto":
        address = args[1]
        host = address[0] if isinstance(address, tuple) else str(address)
        ATTEMPTS.append([event, str(host)])
    elif event == "socket.getaddrinfo":
        ATTEMPTS.append([event, str(args[0])])


def _write() -> None:
    with open(sys.argv[1], "w", encoding="utf-8") as handle:
        json.dump(ATTEMPTS, handle)


atexit.register(_write)  # registered first: runs after every other exit handler
sys.addaudithook(_audit)

import llm_insights  # noqa: E402
import openai  # noqa: E402

from llm_insights_kit.fake_openai.server import FakeOpenAI  # noqa: E402

with FakeOpenAI() as fake_openai:
    llm_insights.configure(service_name="offline-app")
    llm_insights.instrument_openai()
    client = openai.OpenAI(base_url=fake_openai.base_url, api_key="test-key", max_retries=0)
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    model = sys.argv[4] if len(sys.argv) > 4 else "gpt-4o-mini"
    for _ in range(calls):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
        time.sleep(pause)
    llm_insights.shutdown()
