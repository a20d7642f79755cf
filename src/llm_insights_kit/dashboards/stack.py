"""The ``RenderContext`` of a stack for ``render``/``lint`` (no Pulumi import).

Read and validated by the one stack reader, ``llm_insights_kit.stack_config``, which the Pulumi
program also builds on: a key or value ``pulumi up`` would reject (a typo'd key, a budget out of
range) fails here with the same message. The daily budget is the flat key
``llm-insights:dashboards.dailyBudgetUsd``.
"""

from __future__ import annotations

from ..stack_config import render_context

__all__ = ["render_context"]
