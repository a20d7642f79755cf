"""``llm-insights render``: write what a stack would deploy, as files a person can read and diff."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..alerts import load_rules
from ..dashboards import render_workbooks
from ..fsutil import ensure_dir, write_text
from ..stack_config.files import render_context

HELP = (
    "Render the workbooks (Notebook/1.0 JSON) and alert rules (ARM properties JSON) of a stack "
    "into --out, to review and diff before pulumi up."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", help="stack name: reads Pulumi.<stack>.yaml (default: kit defaults)")
    p.add_argument("--stack-file", type=Path, help="a stack file to read instead of --stack")
    p.add_argument("--out", type=Path, default=Path("build"), help="output directory (build/)")
    p.add_argument("--rules-dir", type=Path, help="alert rules directory (default: alerts/)")


def _write(path: Path, text: str) -> Path:
    return write_text(path, text if text.endswith("\n") else text + "\n", "--out")


def _clear_stale(directory: Path, keep: set[str]) -> None:
    for old in directory.glob("*.json") if directory.is_dir() else []:
        if old.name not in keep:
            old.unlink()


def run(args: argparse.Namespace) -> int:
    ctx = render_context(args.stack, args.stack_file)
    workbooks = render_workbooks(ctx)
    rules = load_rules(ctx, rules_dir=args.rules_dir) if args.rules_dir else load_rules(ctx)
    out = ensure_dir(args.out, "--out")
    written = []
    for wb in workbooks:
        written.append(_write(out / "workbooks" / f"{wb.key}.json", wb.serialized_data))
    for rule in rules:
        text = json.dumps(rule.arm_properties(), sort_keys=True, indent=2, ensure_ascii=False)
        written.append(_write(out / "alerts" / f"{rule.name}.json", text))
    _clear_stale(out / "workbooks", {f"{wb.key}.json" for wb in workbooks})
    _clear_stale(out / "alerts", {f"{r.name}.json" for r in rules})
    for path in written:
        print(path)
    disabled = sorted(r.name for r in rules if not r.enabled)
    print(
        f"rendered {len(workbooks)} workbooks and {len(rules)} alert rules for stack "
        f"{ctx.stack} ({ctx.config_file if args.stack or args.stack_file else 'kit defaults'})"
        + (f"; disabled: {', '.join(disabled)}" if disabled else "")
    )
    return 0
