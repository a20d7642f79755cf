"""``llm-insights prices``: regenerate (or --check) the SDK's shipped price file from the pinned
genai-prices package."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import paths, prices
from ..errors import KitError

HELP = (
    "Write sdk/src/llm_insights/_prices.json from the pinned genai-prices package "
    "(--check: fail if the shipped file differs from it)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--check", action="store_true", help="only compare; exit 1 when it differs")
    p.add_argument(
        "--out", type=Path, default=paths.SHIPPED_PRICES_FILE, help="price file to write/check"
    )


def run(args: argparse.Namespace) -> int:
    if args.check:
        if prices.differs(args.out):
            raise KitError(
                str(args.out),
                f"differs from {prices.SOURCE} as installed; run `llm-insights prices`",
            )
        print(f"{args.out}: equals {prices.SOURCE} as installed")
        return 0
    path = prices.write(args.out)
    print(f"wrote {path}")
    return 0
