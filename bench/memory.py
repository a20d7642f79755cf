"""Child process: 100k instrumented LLM calls; resident memory sampled along the way.

Every ``--openai-every``-th call goes through the instrumented openai client (talking to an
in-process ``httpx2.MockTransport``: the openai 3.x client alone costs ~4 ms of CPU per call,
too slow for 100k calls on 2 cores); the others through ``llm_insights.llm_call()``, which
fills the same ``LLMCall`` (span, metrics, cost, quality). Everything after that is real: the
OpenTelemetry SDK and the Azure Monitor exporters posting to the loopback ingestion endpoint.
Each call carries a new user id, session id and response id, and one of 500 model names (50
distinct values is the metric-dimension cap): the inputs most likely to leak into an unbounded
structure. Prints one JSON line: calls -> RSS bytes.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys

from . import configs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=100_000)
    p.add_argument("--every", type=int, default=10_000, help="sample RSS every N calls")
    p.add_argument("--openai-every", type=int, default=20)
    p.add_argument("--ingest", required=True)
    args = p.parse_args(argv)
    import httpx2
    import llm_insights
    import openai
    import psutil

    setup, _ = configs.setup(
        configs.LLM_INSIGHTS, args.ingest, metric_interval_ms=5_000, regime=configs.PROD
    )
    client = openai.OpenAI(
        base_url="http://fake_openai.invalid/v1",
        api_key="bench",
        max_retries=0,
        http_client=httpx2.Client(transport=configs.model_transport()),
    )
    proc = psutil.Process()
    samples: dict[int, int] = {}
    for i in range(1, args.calls + 1):
        with llm_insights.attributes(user_id=f"user-{i}", session_id=f"session-{i}"):
            if i % args.openai_every == 0:
                client.chat.completions.create(model=configs.MODEL, messages=configs.MESSAGES)
            else:
                with llm_insights.llm_call(provider="openai", model=f"model-{i % 500}") as call:
                    call.record_usage(412, 96)
                    call.record_completion("Up to 1,200 mg a day.", finish_reason="stop")
        if i % args.every == 0:
            gc.collect()
            samples[i] = proc.memory_info().rss
            print(f"memory: {i} calls, RSS {samples[i] / 2**20:.1f} MiB", file=sys.stderr)
    setup.flush()
    print(json.dumps({"rss": samples}))
    setup.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
