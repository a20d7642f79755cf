"""``llm-insights`` command line: one subcommand per module under ``llm_insights_kit.commands``.

Each command module exposes ``HELP: str``, ``add_arguments(parser)`` and ``run(args) -> int``.
Bad input (``KitError``) is printed as one clear line and exits 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .errors import KitError

# subcommand -> module under llm_insights_kit.commands (imported only when used)
COMMANDS: dict[str, str] = {
    "render": "render",
    "lint": "lint",
    "alerts": "alerts",
    "serve": "serve",
    "preview": "preview",
    "demo": "demo",
    "prices": "prices",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llm-insights", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(f"llm_insights_kit.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"llm_insights_kit.commands.{module_name}":
                raise
            continue  # not built yet
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
