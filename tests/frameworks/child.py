"""Child process of the framework matrix: one framework app, the kit only configured.

Run by ``test_matrix.py`` as ``python -m frameworks.child`` with the framework's environment
first on PYTHONPATH. ``llm_insights.configure()`` sets the providers (the real Azure Monitor
exporter to the loopback ingest endpoint, the trace sampler from OTEL_TRACES_SAMPLER(_ARG)); no
kit patch. The app (``apps/<FRAMEWORK>.py``) runs the plan against the fake OpenAI server; the
child prints what the app saw, as JSON: runs, failed runs, tool executions.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os

import llm_insights

from .plan import runs


def main() -> None:
    framework = os.environ["FRAMEWORK"]
    assert llm_insights.configure(f"{framework}-app", disable_offline_storage=True)
    app_module = importlib.import_module(f"frameworks.apps.{framework.replace('-', '_')}")
    executed: list[str] = []

    def lookup(drug: str) -> str:
        """Look a drug up."""
        executed.append(drug)
        return f"{drug}: an NSAID"

    plan = runs(app_module.TOOL)
    failed = 0

    async def drive() -> None:  # one event loop: the async clients' connections belong to it
        nonlocal failed
        app = app_module.App(os.environ["STANDIN_BASE_URL"], lookup)
        for run in plan:
            try:
                await app.run(run.question, run.stream)
            except Exception:  # the 429 and the 500 runs fail, as the framework reports it
                failed += 1

    asyncio.run(drive())
    llm_insights.shutdown()  # flushes spans and metrics
    print(json.dumps({"runs": len(plan), "failed": failed, "tools": len(executed)}))


if __name__ == "__main__":
    main()
