"""Where the kit's templates, rules and schema live (the repository layout, not the package)."""

from __future__ import annotations

import os
from pathlib import Path

# src/llm_insights_kit/kql/paths.py -> repository root; override for relocated checkouts.
KIT_ROOT = Path(os.environ.get("LLM_INSIGHTS_KIT_ROOT") or Path(__file__).resolve().parents[3])
DASHBOARDS_DIR = KIT_ROOT / "dashboards"
TEMPLATES_DIR = DASHBOARDS_DIR  # Jinja loader root: macros/… and workbooks/…
WORKBOOKS_DIR = DASHBOARDS_DIR / "workbooks"
SCHEMA_FILE = DASHBOARDS_DIR / "schema" / "appinsights.json"
ALERTS_DIR = KIT_ROOT / "alerts"
