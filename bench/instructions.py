"""Instructions per call, every thread, counted by callgrind: the load-independent CPU figure.

``python -m bench.instructions --config X --regime all|dropped --calls N --ingest URL`` (child)
makes N non-streaming calls to the in-process zero-latency model and exports what they queued.
The runner (``runner.instructions``) runs each child twice under ``valgrind --tool=callgrind``,
with N1 and N2 calls, and takes (count at N2 - count at N1) / (N2 - N1): start-up, imports and
warm-up cancel out, and what is left is what one more call costs the process, the emit and
export threads included. CPU time on a shared machine moves by tens of percent between
processes; an instruction count of the same code does not (a run repeats it to within a few
hundred instructions per call), so differences of a few µs show.

Instructions are not time: a cache miss costs more than an add. They rank code paths that do
the same kind of work (the instrumentations all run the same Python on the same SDK) and they
name what a change saved; the timed tables remain the measure of time.

Regimes: ``all`` (every trace kept, each call's span exported) and ``dropped`` (the head sampler
drops every trace, as it does nearly every call at the prod sampler). The prod sampler itself is
rate-limited per second, so under callgrind's ~50x slowdown it would keep a far larger share
than it does at full speed: the two regimes bound it instead.
"""

from __future__ import annotations

import argparse

from . import configs

#: Calls made before counting starts in each child (connect, first-call caches), identical for
#: both runs of a pair, so they cancel too.
WARMUP = 20


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=configs.CONFIGS, required=True)
    p.add_argument("--regime", choices=(configs.ALL, configs.DROPPED), required=True)
    p.add_argument("--calls", type=int, required=True)
    p.add_argument("--ingest", required=True)
    args = p.parse_args(argv)
    # metrics are exported once per interval whatever the call rate: none inside the run
    setup, wrap = configs.setup(
        args.config, args.ingest, regime=args.regime, metric_interval_ms=3_600_000
    )
    call = configs.chat_call(configs.model_client(0.0, [0.0]), wrap)
    for _ in range(WARMUP):
        call()
    setup.flush_per_call_telemetry()
    for _ in range(args.calls):
        call()
    setup.flush_per_call_telemetry()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
