"""Progress for the demo: a live ``rich`` display on a terminal, one plain line per event otherwise
(CI logs, pipes), so the same run reads well in both."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


class Step(Protocol):
    def advance(self, n: int = 1) -> None: ...

    def note(self, text: str) -> None: ...


class Display:
    """Steps with optional totals; ``console`` prints tables and results in both modes."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        stream = stream or sys.stdout
        self.live = stream.isatty() if live is None else live
        self.console = Console(file=stream, force_terminal=self.live, soft_wrap=False,
                               width=None if self.live else 110)  # fmt: skip
        self.started = time.monotonic()
        self._progress: Progress | None = None

    def __enter__(self) -> Display:
        if self.live:
            self._progress = Progress(
                SpinnerColumn(finished_text="[green]✓"),
                TextColumn("{task.description}"),
                BarColumn(bar_width=30),
                MofNCompleteColumn(),
                TextColumn("[dim]{task.fields[note]}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _line(self, text: str) -> None:
        self.console.print(f"[{self.elapsed():6.1f}s] {text}", markup=False, highlight=False)

    @contextmanager
    def step(self, description: str, total: int | None = None) -> Iterator[Step]:
        """A unit of work; its ``advance``/``note`` update the live bar (or are summarised)."""
        if self._progress is not None:
            progress = self._progress
            task = progress.add_task(description, total=total or 1, note="")

            class _Live:
                def advance(self, n: int = 1) -> None:
                    progress.advance(task, n)

                def note(self, text: str) -> None:
                    progress.update(task, note=text)

            yield _Live()
            progress.update(task, completed=total or 1)
            return

        self._line(f"{description} ...")
        line = self._line

        class _Plain:
            done = 0
            last_note = ""

            def advance(self, n: int = 1) -> None:
                self.done += n

            def note(self, text: str) -> None:
                self.last_note = text

        plain = _Plain()
        yield plain
        detail = f" {plain.done}/{total}" if total else ""
        note = f" ({plain.last_note})" if plain.last_note else ""
        line(f"{description}: done{detail}{note}")

    def print(self, *objects: Any, **kwargs: Any) -> None:
        self.console.print(*objects, **kwargs)
