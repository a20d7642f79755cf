"""pyperf script: time one configuration's calls (run by ``python -m bench``).

``python -m bench.overhead --config llm_insights --standin URL --ingest URL --in-process -o X``

The runner starts one process per configuration and round (the instrumentations patch the
openai client globally, so configurations never share a process) and uses pyperf's
``--in-process`` mode inside it. The timer is the process's CPU time (``time.process_time``:
every thread, so the exporters' background work is included): on a shared machine, wall time
mostly measures the scheduler. Wall time is kept alongside (``--wall-out``) for reference.

Two timers per value: the process's CPU time (every thread, the export included: what the user
pays) is pyperf's value; the calling thread's CPU time over the calls alone
(``time.thread_time``, the export excluded: what a request waits for the instrumentation) goes to
``--side-out`` with the wall time, and the spans the sampler kept next to the calls made.

``chat``: a non-streaming call to a zero-latency model over an in-process transport
(``configs.model_client``): no HTTP and no stand-in server process competing for the cores, so
what varies between configurations is the instrumentation. The streams go over HTTP to the
stand-in (their chunks are what they measure).

``chat-20ms`` (with ``--loops-latency N``): the same call to a model that answers in 20 ms
(``configs.model_client``: an in-process transport that sleeps, so the time it really slept is
known and taken out); its side value is the wall-clock time per call minus that sleep: what the
instrumentation adds to the latency a request feels, the emit thread's share included when it
competes for the GIL.

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

LATENCY = "chat-20ms"
# The back-to-back loop runs last: its callers never wait, so the kit ends up recording on them
# for a while (``_offload``'s take-over), which is not what a request to a model that takes
# time, or a stream, meets in a process that has not just run such a loop.
BENCHMARKS = (
    (LATENCY, None),
    ("stream-short", servers.STREAM_SHORT),
    ("stream-long", servers.STREAM_LONG),
    ("chat", None),
)
_wall: dict[str, list[float]] = {}
_thread: dict[str, list[float]] = {}
_latency: dict[str, list[float]] = {}
_slept = [0.0]  # seconds the latency benchmark's model slept, summed
_calls = [0]


def _add_args(cmd: list[str], args: Any) -> None:
    cmd.extend(["--config", args.config, "--standin", args.standin, "--ingest", args.ingest])
    cmd.extend(["--regime", args.regime])
    if args.side_out:
        cmd.extend(["--side-out", args.side_out])
    if args.no_stream:
        cmd.append("--no-stream")
    if args.loops_latency:
        cmd.extend(["--loops-latency", str(args.loops_latency)])


def _cpu_timer(
    name: str, fn: Callable[[], Any], export: Callable[[], None]
) -> Callable[[int], float]:
    def time_func(loops: int) -> float:
        slept0 = _slept[0]
        wall0 = time.perf_counter()
        cpu0 = time.process_time()
        thread0 = time.thread_time()
        for _ in range(loops):
            fn()
        thread = time.thread_time() - thread0  # the caller's own CPU, before the export
        wall = time.perf_counter() - wall0
        if name.endswith(LATENCY):
            _latency.setdefault(name, []).append((wall - (_slept[0] - slept0)) / loops)
        export()  # the exporter's work for these calls, in the timed region
        cpu = time.process_time() - cpu0
        _wall.setdefault(name, []).append(wall / loops)
        _thread.setdefault(name, []).append(thread / loops)
        _calls[0] += loops
        return cpu

    return time_func


def main() -> None:
    runner = pyperf.Runner(add_cmdline_args=_add_args, program_args=("-m", "bench.overhead"))
    runner.argparser.add_argument("--config", choices=configs.CONFIGS, required=True)
    runner.argparser.add_argument("--standin", required=True)
    runner.argparser.add_argument("--ingest", required=True)
    runner.argparser.add_argument("--regime", choices=configs.REGIMES, default=configs.ALL)
    runner.argparser.add_argument("--side-out", default="")
    runner.argparser.add_argument("--no-stream", action="store_true")
    runner.argparser.add_argument("--loops-stream", type=int, default=0)
    runner.argparser.add_argument("--loops-latency", type=int, default=0)
    args = runner.parse_args()
    runs_here = args.worker or args.in_process
    cl = wrap = None
    export: Callable[[], None] = _nothing
    if runs_here:
        setup, wrap = configs.setup(
            args.config, args.ingest, standin_url=args.standin, regime=args.regime
        )
        cl = configs.client(args.standin)
        export = setup.flush_per_call_telemetry
        atexit.register(setup.shutdown)  # export what is queued, outside the timed loops
        if args.side_out:  # registered last: runs first, before the shutdown's own exports
            atexit.register(_dump_side, args.side_out, setup)
    chat_loops = args.loops
    for name, scenario in BENCHMARKS:
        if scenario is not None and (args.no_stream or args.config not in configs.STREAM_CONFIGS):
            continue  # the by-hand equivalent is non-streaming only
        if name == LATENCY and not args.loops_latency:
            continue
        full = f"{args.config}:{name}"
        if runs_here:
            if name == LATENCY:
                model = configs.model_client(configs.MODEL_SECONDS, _slept)
                fn = configs.chat_call(model, wrap)
            elif scenario is None:  # a zero-latency model in process: no HTTP, no server
                fn = configs.chat_call(configs.model_client(0.0, _slept), wrap)
            else:
                fn = configs.stream_call(cl, wrap, scenario)
            fn()  # connect and warm the client outside the timed loops
            _calls[0] += 1
            export()
        else:
            fn = _never
        if name == LATENCY:
            runner.args.loops = args.loops_latency  # each call waits for the model
        elif scenario is not None and args.loops_stream:
            runner.args.loops = args.loops_stream  # streams take longer per call
        else:
            runner.args.loops = chat_loops
        runner.bench_time_func(full, _cpu_timer(full, fn, export))


def _dump_side(path: str, setup: configs.Setup) -> None:
    side = {
        "wall": _wall,
        "thread": _thread,
        "latency": _latency,
        "sampled": setup.counter.sampled,
        "calls": _calls[0],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(side, f, sort_keys=True)


def _nothing() -> None:
    pass


def _never() -> None:  # the pyperf parent process never calls the benchmark function
    raise AssertionError("benchmark function called in the pyperf parent process")


if __name__ == "__main__":
    main()
    sys.exit(0)
