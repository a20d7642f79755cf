"""Fixtures for the Pulumi program tests: the program and policy pack on sys.path, one mock run
of each committed stack per session (each run ≈ 1 s; runs are isolated from each other)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parents[1]
for _path in (_HERE, _REPO / "infra", _REPO / "policy"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import infra_harness as harness  # noqa: E402


@pytest.fixture(scope="session")
def stack_runs() -> dict[str, harness.StackRun]:
    runs = {stack: harness.run_program(stack) for stack in harness.STACKS}
    for stack, run in runs.items():
        if run.error is not None:
            raise AssertionError(f"stack {stack} failed under mocks: {run.error!r}")
    return runs


@pytest.fixture(autouse=True)
def _event_loop() -> Iterator[None]:
    """Give each test its own event loop: config parsing creates Outputs, which need one, and
    tests elsewhere (``asyncio.run``) leave the main thread with none."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        asyncio.set_event_loop(None)
        loop.close()
