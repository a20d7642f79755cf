"""``llm-insights demo``: the whole path locally — sample app, LLM stand-in, local Application
Insights, a healthy phase then an incident, every alert rule evaluated, workbook previews."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..demo.display import Display
from ..demo.runner import DEMO_DIR, run_demo
from ..errors import KitError

HELP = (
    "Run the sample app against a local LLM stand-in and local Application Insights: a healthy "
    "phase, an incident, every alert rule evaluated, workbook previews written (no Azure needed)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--stack", default="dev", help="stack whose config (Pulumi.<stack>.yaml) applies"
    )
    p.add_argument(
        "--out", type=Path, default=DEMO_DIR, help="output directory (default build/demo)"
    )
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="request-count multiplier, 0.2..3 (mix ratios are kept); default 1",
    )
    p.add_argument("--no-previews", action="store_true", help="skip writing workbook previews")
    p.add_argument("--plain", action="store_true", help="plain progress lines even on a terminal")


def run(args: argparse.Namespace) -> int:
    if not 0.2 <= args.scale <= 3:
        raise KitError("--scale", f"{args.scale:g} is outside 0.2..3")
    with Display(live=False if args.plain else None) as display:
        result = run_demo(
            args.stack, display, out_dir=args.out, scale=args.scale, previews=not args.no_previews
        )
    # Success means the incident was seen: some rule fired, none failed to evaluate, every
    # panel query ran (an empty panel is fine, a failing one is not).
    fired = any(r.fired for r in result.end_alerts)
    broken = any(r.error for r in result.end_alerts + result.healthy_alerts)
    broken = broken or bool(result.check and result.check.failures())
    return 0 if fired and not broken and not result.preview_counts.get("error") else 1
