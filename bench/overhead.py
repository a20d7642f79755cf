"""pyperf script: time one configuration's calls (run by ``python -m bench``).

``python -m bench.overhead --config llm_insights --standin URL --ingest URL --in-process -o X``

The runner starts one process per configuration and round (the instrumentations patch the
openai client globally, so configurations never share a process) and uses pyperf's
``--in-process`` mode inside it. The timer is the process's CPU time (``time.process_time``:
every thread, so the exporters' background work is included): on a shared machine, wall time
mostly measures the scheduler. Wall time is kept alongside (``--wall-out``) for reference.

Each timed value ends by exporting the spans and log records its calls queued (inside the timed
region): the exporter's conversion and serialization (~0.6 ms per span with the Azure Monitor
exporter) is paid per call, just later and on another thread. Without it, a batch processor
that exports every 512 spans or 5 s would mostly export outside the short timed loops.
"""

from __future__ import annotations

import atexit
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import pyperf

from . import configs, servers

BENCHMARKS = (
    ("chat", None),
    ("stream-short", servers.STREAM_SHORT),
    ("stream-long", servers.STREAM_LONG),
)
_wall: dict[str, list[float]] = {}


def _add_args(cmd: list[str], args: Any) -> None:
    cmd.extend(["--config", args.config, "--standin", args.standin, "--ingest", args.ingest])
    if args.wall_out:
        cmd.extend(["--wall-out", args.wall_out])


def _cpu_timer(
    name: str, fn: Callable[[], Any], export: Callable[[], None]
) -> Callable[[int], float]:
    def time_func(loops: int) -> float:
        wall0 = time.perf_counter()
        cpu0 = time.process_time()
        for _ in range(loops):
            fn()
        export()  # the exporter's work for these calls, in the timed region
        cpu = time.process_time() - cpu0
        _wall.setdefault(name, []).append((time.perf_counter() - wall0) / loops)
        return cpu

    return time_func


def main() -> None:
    runner = pyperf.Runner(add_cmdline_args=_add_args, program_args=("-m", "bench.overhead"))
    runner.argparser.add_argument("--config", choices=configs.CONFIGS, required=True)
    runner.argparser.add_argument("--standin", required=True)
    runner.argparser.add_argument("--ingest", required=True)
    runner.argparser.add_argument("--wall-out", default="")
    runner.argparser.add_argument("--loops-stream", type=int, default=0)
    args = runner.parse_args()
    runs_here = args.worker or args.in_process
    cl = wrap = None
    export: Callable[[], None] = _nothing
    if runs_here:
        setup, wrap = configs.setup(args.config, args.ingest, standin_url=args.standin)
        cl = configs.client(args.standin)
        export = setup.flush_per_call_telemetry
        if args.wall_out:
            atexit.register(_dump_wall, args.wall_out)
        atexit.register(setup.shutdown)  # export what is queued, outside the timed loops
    for name, scenario in BENCHMARKS:
        if scenario is not None and args.config not in configs.STREAM_CONFIGS:
            continue  # the by-hand equivalent is non-streaming only
        full = f"{args.config}:{name}"
        if runs_here:
            fn = (
                configs.chat_call(cl, wrap)
                if scenario is None
                else configs.stream_call(cl, wrap, scenario)
            )
            fn()  # connect and warm the client outside the timed loops
            export()
            if scenario is not None and args.loops_stream:
                runner.args.loops = args.loops_stream  # streams take longer per call
        else:
            fn = _never
        runner.bench_time_func(full, _cpu_timer(full, fn, export))


def _dump_wall(path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(_wall, f, sort_keys=True)


def _nothing() -> None:
    pass


def _never() -> None:  # the pyperf parent process never calls the benchmark function
    raise AssertionError("benchmark function called in the pyperf parent process")


if __name__ == "__main__":
    main()
    sys.exit(0)
