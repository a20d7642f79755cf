"""The check's report as readable tables (rich); ``CheckReport.to_dict`` is the JSON form."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .run import CheckReport

_STATE_STYLE = {"FIRED": "bold red", "error": "red", "ok": "green", "empty": "yellow"}


def _styled(state: str) -> str:
    style = _STATE_STYLE.get(state)
    return f"[{style}]{state}[/{style}]" if style else state


def print_report(out: Console, report: CheckReport) -> None:
    start, end = report.time_range
    out.print(
        f"[bold]llm-insights check[/bold] {report.stack}: {report.backend}, "
        f"{start:%Y-%m-%d %H:%M:%S}Z to {end:%Y-%m-%d %H:%M:%S}Z, {report.queries} queries",
        highlight=False,
    )
    _telemetry(out, report)
    _panels(out, report)
    _rules(out, report)
    for note in report.notes:
        out.print(f"[dim]note: {note}[/dim]", highlight=False)
    failures = report.failures()
    if failures:
        out.print(f"[bold red]check failed ({len(failures)}):[/bold red]")
        for failure in failures:
            out.print(f"  ✗ {failure}", markup=False, highlight=False)
    else:
        out.print("[bold green]check passed[/bold green]: every panel and rule query ran and "
                  "the required telemetry arrived")  # fmt: skip


def _telemetry(out: Console, report: CheckReport) -> None:
    arrival = report.arrival
    out.print()
    if arrival.error:
        out.print(f"[red]telemetry arrival: {arrival.error}[/red]", highlight=False)
        return
    total = sum(arrival.rows_by_table.values())
    out.print(
        f"[bold]Telemetry[/bold]: {total} rows ("
        + ", ".join(f"{t} {n}" for t, n in arrival.rows_by_table.items())
        + ")",
        highlight=False,
    )
    if arrival.sources:
        table = Table(title="Sources", title_justify="left")
        for column in ("service", "exporter (sdkVersion)", "rows", "first", "last"):
            table.add_column(column, justify="right" if column == "rows" else "left")
        for s in arrival.sources:
            table.add_row(
                s.service or "(none)",
                s.sdk_version or "(none)",
                str(s.rows),
                f"{s.first:%m-%d %H:%M:%S}" if s.first else "",
                f"{s.last:%m-%d %H:%M:%S}" if s.last else "",
            )
        out.print(table)
    seen = [n for n in arrival.names if n.seen]
    missing = [n for n in arrival.names if not n.seen]
    out.print(f"{len(seen)} of {len(arrival.names)} names the workbooks and rules read arrived.")
    if missing:
        table = Table(title="Never arrived", title_justify="left")
        table.add_column("name")
        table.add_column("kind")
        table.add_column("read by")
        table.add_column("likely cause")
        for n in missing:
            readers = ", ".join(n.read_by[:2]) + (
                f" +{len(n.read_by) - 2}" if len(n.read_by) > 2 else ""
            )
            name = (
                f"[bold red]{escape(n.name)}[/bold red] (required)"
                if n.required
                else escape(n.name)
            )
            table.add_row(name, n.kind, escape(readers), escape(n.cause))
        out.print(table)


def _panels(out: Console, report: CheckReport) -> None:
    out.print()
    table = Table(
        title="Workbook panels (each run as deployed over the window)", title_justify="left"
    )
    table.add_column("workbook")
    for state in ("ok", "empty", "error"):
        table.add_column("data" if state == "ok" else state, justify="right")
    for run in report.workbooks:
        counts = run.counts()
        table.add_row(
            run.key,
            str(counts["ok"]),
            str(counts["empty"]),
            _styled("error") + f" {counts['error']}" if counts["error"] else "0",
        )
    out.print(table)
    for run in report.workbooks:
        for panel in run.panels():
            if panel.state == "error":
                out.print(f"  [red]error[/red] {run.key}/{panel.step} ({panel.title}): ", end="")
                out.print(panel.outcome.error, markup=False, highlight=False)
            elif panel.state == "empty":
                out.print(f"  [yellow]empty[/yellow] {run.key}/{panel.step} ({panel.title})",
                          highlight=False)  # fmt: skip


def _rules(out: Console, report: CheckReport) -> None:
    out.print()
    table = Table(title="Alert rules (backtested with the kit's evaluator)", title_justify="left")
    table.add_column("rule")
    table.add_column("sev", justify="right")
    table.add_column("at end")
    table.add_column("evals", justify="right")
    table.add_column("fired", justify="right")
    table.add_column("Azure fired", justify="right")
    table.add_column("verdict")
    for r in report.rules:
        azure = "" if r.history is None else str(len(r.history))
        verdict = escape(r.message())
        disagreement = r.disagreement()
        if disagreement:
            verdict += f" [bold yellow]DISAGREES[/bold yellow]: {escape(disagreement)}"
        table.add_row(
            r.rule.name,
            str(r.rule.severity),
            _styled(r.state),
            str(len(r.times)),
            str(r.fired_count),
            azure,
            verdict,
        )
    out.print(table)
