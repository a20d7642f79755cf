"""Where the kit's files live in the repository (templates, rules, schema, stack files, build
output), in one place: the repository layout, not the package's."""

from __future__ import annotations

import os
from pathlib import Path

# This checkout's root (src/llm_insights_kit/paths.py -> repository root).
CHECKOUT = Path(__file__).resolve().parents[2]
# The kit's root for templates, rules and stack files; override for relocated checkouts.
KIT_ROOT = Path(os.environ.get("LLM_INSIGHTS_KIT_ROOT") or CHECKOUT)
DASHBOARDS_DIR = KIT_ROOT / "dashboards"
TEMPLATES_DIR = DASHBOARDS_DIR  # Jinja loader root: macros/… and workbooks/…
WORKBOOKS_DIR = DASHBOARDS_DIR / "workbooks"
SCHEMA_FILE = DASHBOARDS_DIR / "schema" / "appinsights.json"
ALERTS_DIR = KIT_ROOT / "alerts"
ALERT_TESTS_DIR = ALERTS_DIR / "tests"
CHAT_APP_DIR = KIT_ROOT / "examples" / "chat-app"
NODE_MODULES_DIR = KIT_ROOT / "node_modules"
BUILD_DIR = KIT_ROOT / "build"
# The SDK's shipped price table, read from this checkout (not relocated with KIT_ROOT).
SHIPPED_PRICES_FILE = CHECKOUT / "sdk" / "src" / "llm_insights" / "_prices.json"


def stack_file_name(stack: str) -> str:
    """``Pulumi.<stack>.yaml``: the stack file Pulumi reads for *stack*."""
    return f"Pulumi.{stack}.yaml"
