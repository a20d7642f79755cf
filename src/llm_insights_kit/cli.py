"""``llm-insights`` command line: one subcommand per module under ``llm_insights_kit.commands``.

Each command module exposes ``HELP: str``, ``add_arguments(parser)`` and ``run(args) -> int``.
Bad input (``KitError``) is printed as one clear line and exits 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from .commands import alerts, check, demo, lint, preview, prices, render, serve
from .errors import KitError

DESCRIPTION = (
    "Observability for LLM apps on Azure: render and lint the workbooks and alert rules a stack "
    "deploys, unit-test the rules, run a local Application Insights, preview workbooks, run the "
    "demo, check a deployed stack on its own telemetry."
)

COMMANDS: dict[str, ModuleType] = {
    "render": render,
    "lint": lint,
    "alerts": alerts,
    "serve": serve,
    "preview": preview,
    "demo": demo,
    "prices": prices,
    "check": check,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llm-insights", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
