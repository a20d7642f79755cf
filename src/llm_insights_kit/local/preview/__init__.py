"""Workbook previews: every rendered workbook run against the local store, as static HTML.

``write_previews(stack, store_path)`` renders the stack's workbooks
(``dashboards.render_workbooks``), runs each query step on the store over the time range
(default: the span of the stored data) and writes ``<out>/<workbook key>.html`` plus
``<out>/index.html``. Pages work offline: inline CSS, inline SVG charts, no scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ...artifacts import WorkbookArtifact
from ...dashboards import render_workbooks
from ...errors import KitError
from ...fsutil import ensure_dir
from ...invocation import kit_command
from ...stack_config.files import render_context
from ...tables import TABLES
from ..remote import open_reader
from ..store import LocalStore
from .page import index_page, workbook_page
from .run import WorkbookRun, run_workbook

DEFAULT_OUT = Path("build/preview")
DEFAULT_SPAN = timedelta(days=1)


@dataclass(frozen=True)
class PreviewResult:
    index: Path
    pages: dict[str, Path]
    runs: list[WorkbookRun]
    time_range: tuple[datetime, datetime]

    def counts(self) -> dict[str, int]:
        total = {"ok": 0, "empty": 0, "error": 0}
        for run in self.runs:
            for state, n in run.counts().items():
                total[state] += n
        return total


def data_time_range(store: LocalStore, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The minutes spanning every stored row; the last day before *now* when the store is empty."""
    union = f"union {', '.join(TABLES)} | summarize lo = min(timestamp), hi = max(timestamp)"
    lo, hi = store.query(union, name="data time range").rows[0]
    if lo is None or hi is None:
        end = (now or datetime.now(UTC)).replace(second=0, microsecond=0) + timedelta(minutes=1)
        return end - DEFAULT_SPAN, end
    start = lo.replace(second=0, microsecond=0)
    end = hi.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return start, end


def render_previews(
    store: LocalStore,
    workbooks: Sequence[WorkbookArtifact],
    out_dir: Path,
    *,
    stack: str,
    time_range: tuple[datetime, datetime] | None = None,
    store_label: str = "",
) -> PreviewResult:
    """Run *workbooks* on *store* and write their pages and the index into *out_dir*."""
    if time_range is None:
        time_range = data_time_range(store)
    start, end = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in time_range)
    if end <= start:
        raise KitError("time range", f"end {end:%Y-%m-%dT%H:%M:%SZ} is not after the start")
    time_range = (start, end)
    try:
        ensure_dir(out_dir, "--out")
    except OSError as exc:
        raise KitError(
            str(out_dir), f"cannot create the output directory: {exc.strerror}"
        ) from None
    label = store_label or store.path
    runs = [run_workbook(store, wb, time_range) for wb in sorted(workbooks, key=lambda w: w.key)]
    pages: dict[str, Path] = {}
    for run in runs:
        page = out_dir / f"{run.key}.html"
        page.write_text(workbook_page(run, stack, label), encoding="utf-8")
        pages[run.key] = page
    index = out_dir / "index.html"
    index.write_text(index_page(runs, stack, label), encoding="utf-8")
    return PreviewResult(index, pages, runs, time_range)


def write_previews(
    stack: str,
    store_path: Path | str,
    *,
    out_dir: Path = DEFAULT_OUT,
    time_range: tuple[datetime, datetime] | None = None,
) -> Path:
    """Render the stack's workbooks over the store file; returns the index page's path."""
    path = Path(store_path)
    if not path.is_file():
        kit = kit_command()
        raise KitError(str(path), f"no local store here; run `{kit} serve` or `make demo` first")
    workbooks = render_workbooks(render_context(stack))
    with open_reader(path) as store:  # through `serve` when it holds the file
        result = render_previews(
            store, workbooks, out_dir, stack=stack, time_range=time_range, store_label=str(path)
        )
    return result.index


__all__ = [
    "DEFAULT_OUT",
    "PreviewResult",
    "data_time_range",
    "render_previews",
    "write_previews",
]
