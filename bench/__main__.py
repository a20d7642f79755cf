"""``python -m bench``: run every benchmark and write ``bench/RESULTS.md``."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import time
from pathlib import Path

from . import configs, report, runner, servers

PHASES = (
    "overhead", "instructions", "volume", "memory", "profile", "genai_sampling", "tooling",
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="few iterations (smoke run, ~1 min)")
    p.add_argument("--only", action="append", choices=PHASES, help="run only these phases")
    p.add_argument("--rounds", type=int, default=None, help="overhead rounds (default 6; 1 quick)")
    p.add_argument(
        "--configs",
        help="overhead configurations to run, comma-separated (default: all; baseline and "
        "floor are always run: every figure is paired against them)",
    )
    p.add_argument("--memory-calls", type=int, default=100_000)
    p.add_argument("--usd-per-gb", type=float, default=report.DEFAULT_USD_PER_GB)
    p.add_argument("--out", type=Path, default=runner.REPO / "bench" / "RESULTS.md")
    p.add_argument(
        "--report-from", type=Path, help="render RESULTS.md from a saved results.json, no runs"
    )
    args = p.parse_args(argv)
    opts = runner.Options(rounds=args.rounds or 6, memory_calls=args.memory_calls)
    if args.quick:
        opts = runner.Options(
            rounds=args.rounds or 1, values=3, chat_loops=10, stream_loops=2, volume_calls=100,
            memory_calls=4_000, memory_every=1_000, instruction_calls=(5, 15),
        )  # fmt: skip
    if args.configs:
        chosen = {cfg.strip() for cfg in args.configs.split(",") if cfg.strip()}
        unknown = chosen - set(configs.CONFIGS)
        if unknown:
            p.error(
                f"--configs: unknown {', '.join(sorted(unknown))}; known: "
                f"{', '.join(configs.CONFIGS)}"
            )
        if configs.LLM_INSIGHTS not in chosen or not chosen & set(configs.PEERS):
            p.error(
                f"--configs: every target compares {configs.LLM_INSIGHTS} with the best peer, "
                f"so name {configs.LLM_INSIGHTS} and at least one of "
                f"{', '.join(configs.PEERS)}"
            )
        chosen |= {configs.BASELINE, configs.FLOOR}
        opts.configs = tuple(cfg for cfg in configs.CONFIGS if cfg in chosen)
    opts.work.mkdir(parents=True, exist_ok=True)
    phases = args.only or PHASES
    res = runner.Results(started=f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}")
    if args.report_from:
        data = json.loads(args.report_from.read_text(encoding="utf-8"))
        res = runner.Results(**data)
        if res.memory:
            res.memory["rss"] = {int(k): v for k, v in res.memory["rss"].items()}
        text = report.render(res, opts, args.usd_per_gb)
        args.out.write_text(text, encoding="utf-8")
        print(f"bench: wrote {args.out} from {args.report_from}", file=sys.stderr)
        return 0
    with servers.Servers() as srv:
        for phase in phases:
            runner.load_now(res)
            start = time.monotonic()
            print(f"bench: {phase} …", file=sys.stderr, flush=True)
            if phase == "overhead":
                runner.timings(srv, opts, res)
            elif phase == "instructions":
                runner.instructions(srv, opts, res)
            elif phase == "volume":
                runner.volume(srv, opts, res)
            elif phase == "memory":
                runner.memory(srv, opts, res)
            elif phase == "profile":
                runner.profile(srv, res)
            elif phase == "genai_sampling":
                runner.genai_sampling(opts, res)
            else:
                runner.tooling(opts, res)
            res.seconds[phase] = time.monotonic() - start
    dump = opts.work / "results.json"  # re-render with --report-from (report changes only)
    dump.write_text(json.dumps(dataclasses.asdict(res)), encoding="utf-8")
    text = report.render(res, opts, args.usd_per_gb)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    print(f"bench: wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
