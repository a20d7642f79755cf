"""Child process: where llm_insights spends its time (cProfile over real calls, by component).

``python -m bench.profile --standin URL --ingest URL`` prints one JSON object: self time of the
instrumentation's code grouped by package, and the top functions, for non-streaming calls and
for long streams (same configuration as the overhead benchmark). cProfile inflates small
functions; read the shares, not the absolute times.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from typing import Any

from . import configs, servers

#: Path fragment -> component name (first match wins); everything else is the app + openai.
COMPONENTS = (
    ("/llm_insights/", "llm_insights"),
    ("/opentelemetry/sdk/metrics/", "opentelemetry metrics SDK"),
    ("/opentelemetry/sdk/trace/", "opentelemetry trace SDK"),
    ("/opentelemetry/", "opentelemetry (other)"),
    ("/wrapt/", "wrapt"),
    ("/azure/", "azure exporter"),
)
OURS = tuple(name for _, name in COMPONENTS)


def _component(filename: str) -> str:
    for fragment, name in COMPONENTS:
        if fragment in filename:
            return name
    return "app, openai client, HTTP"


def _profile(fn: Any, calls: int) -> dict[str, Any]:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        fn()
    prof.disable()
    return _summarise(prof, calls)


def _summarise(prof: cProfile.Profile, calls: int) -> dict[str, Any]:
    stats = pstats.Stats(prof)
    total = 0.0
    by: dict[str, float] = {}
    funcs: list[tuple[float, str, int]] = []
    for (filename, line, name), (_cc, ncalls, tottime, _ct, _callers) in stats.stats.items():
        total += tottime
        comp = _component(filename)
        by[comp] = by.get(comp, 0.0) + tottime
        if comp in OURS:
            short = filename.split("site-packages/")[-1].split("/src/")[-1]
            funcs.append((tottime, f"{short}:{line} {name}", ncalls))
    funcs.sort(reverse=True)
    return {
        "calls": calls,
        "total": total,
        "by_component": dict(sorted(by.items(), key=lambda kv: -kv[1])),
        "top": [{"seconds": t, "function": f, "per_call": n / calls} for t, f, n in funcs[:12]],
    }


def _profile_emit(calls: int, ingest: str, fake_openai: str) -> dict[str, Any]:
    """cProfile of the ``llm-insights-emit`` thread alone, over *calls* calls with the kit's
    defaults at the prod sampler: the per-call work no request waits for but the process pays.
    The profiler is switched on and off by jobs on that thread (cProfile profiles the thread
    that enables it)."""
    from llm_insights import _offload

    setup, wrap = configs.setup(configs.LLM_INSIGHTS, ingest, regime=configs.PROD)
    chat = configs.chat_call(configs.client(fake_openai), wrap)
    for _ in range(20):  # warm up (and start the thread)
        chat()
    _offload.drain()
    prof = cProfile.Profile(time.thread_time)  # the thread's CPU, not its waits for work
    _offload.submit(prof.enable)
    for _ in range(calls):
        chat()
    _offload.submit(prof.disable)
    _offload.drain()
    out = _summarise(prof, calls)
    setup.shutdown()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--standin", required=True)
    p.add_argument("--ingest", required=True)
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--streams", type=int, default=40)
    p.add_argument("--emit", action="store_true", help="profile the emit thread alone")
    args = p.parse_args(argv)
    if args.emit:  # a process of its own: the providers and the openai patch are global
        print(json.dumps({"emit": _profile_emit(args.calls, args.ingest, args.standin)}))
        return 0
    # everything on the profiled thread: cProfile sees only the thread that enabled it, and the
    # question here is where all of llm_insights' work goes, not only the caller's part
    setup, wrap = configs.setup(configs.LLM_INSIGHTS_INLINE, args.ingest)
    client = configs.client(args.standin)
    chat = configs.chat_call(client, wrap)
    stream = configs.stream_call(client, wrap, servers.STREAM_LONG)
    for _ in range(20):  # warm up
        chat()
        stream()
    out = {"chat": _profile(chat, args.calls), "stream": _profile(stream, args.streams)}
    setup.shutdown()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
