"""The stack a rule test runs against (``alerts test --stack``), read by the one stack reader.

Rule tests run against the rules as that stack would deploy them (its ``llm-insights:alerts``
overrides), so a stricter production threshold is tested before ``pulumi up``. The file is
validated exactly as the Pulumi program validates it (``llm_insights_kit.stack_config``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..artifacts import RenderContext
from ..stack_config import render_context


def stack_context(
    stack: str | None, *, stack_file: Path | None = None, search: Sequence[Path] = ()
) -> RenderContext:
    """The RenderContext for *stack* (None: the rules' own defaults, no overrides)."""
    return render_context(stack, stack_file, search)
