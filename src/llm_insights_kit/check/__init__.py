"""``llm-insights check``: the deployed kit judged on its own telemetry, on Azure or locally.

Telemetry arrival (:mod:`.arrival`), every workbook panel (the preview's workbook runner) and
every alert rule backtested (:mod:`.rules`, the alert evaluator), through one query interface
(:mod:`.backend`) with two implementations: the local store and Azure Monitor Logs
(:mod:`.azure`). :func:`run_check` runs them all; :func:`print_report` shows the result.
"""

from __future__ import annotations

from .backend import QueryBackend, open_local
from .report import print_report
from .run import CheckReport, run_check

__all__ = ["CheckReport", "QueryBackend", "open_local", "print_report", "run_check"]
