"""Live pages of ``llm-insights serve``: the stack's workbooks and alert states, from the store.

Every load runs the workbook's queries on the store the server is writing (the same rendered
workbooks, the same runner and page renderer as ``llm-insights preview``, so the same KQL as
deploys) over the time range picked from the workbook's own choices, ending now. The index
evaluates every alert rule at request time with the kit's evaluator (``RuleEvaluator``, Azure
Monitor's scheduled-query semantics): firing or OK, the newest window's value and why. Pages
reload themselves (``<meta http-equiv="refresh">``, no scripts, no external assets), so a browser
left open follows the telemetry as it arrives.

Routes: ``/`` (= ``/index.html``), ``/<workbook key>.html?range=<ms>``, ``POST /api/query``
(the reader API of :mod:`.remote`, token-checked).
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import parse_qs

from ..alerts.evaluator import AlertDecision, RuleEvaluator, format_value
from ..artifacts import AlertRuleSpec, WorkbookArtifact
from ..dashboards.workbook import ITEM_PARAMETERS, PARAM_TIME_RANGE
from ..errors import KitError
from .preview.page import html_page, workbook_page
from .preview.run import run_workbook
from .remote import QUERY_PATH, TOKEN_HEADER, answer_query
from .store import LocalStore

DEFAULT_REFRESH_S = 10
#: Pages and reader queries rendered at once; more wait their turn, so readers (a browser left
#: open on every page, each reloading) cannot take the CPU the app's ingestion needs: measured,
#: eight page loaders in a loop raised ingestion's median latency to ~375 ms unbounded, ~60 ms
#: one at a time (2 busy cores).
CONCURRENT_READS = 1
_UNITS = ((86_400_000, "day"), (3_600_000, "hour"), (60_000, "minute"), (1000, "second"))


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes


def duration_label(ms: int) -> str:
    """``3600000`` → ``1 hour``; the largest unit that divides the duration."""
    for size, unit in _UNITS:
        if ms >= size and ms % size == 0:
            n = ms // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{ms} ms"


def time_range_choices(workbook: WorkbookArtifact) -> tuple[list[int], int]:
    """(the workbook's selectable durations in ms, its default) from its TimeRange parameter."""
    notebook = json.loads(workbook.serialized_data)
    stack: list[Any] = list(notebook.get("items", []))
    while stack:
        item = stack.pop(0)
        content = item.get("content") or {}
        stack.extend(content.get("items", []))
        if item.get("type") != ITEM_PARAMETERS:
            continue
        for param in content.get("parameters", []):
            if param.get("type") == PARAM_TIME_RANGE:
                values = (param.get("typeSettings") or {}).get("selectableValues") or []
                choices = [int(v["durationMs"]) for v in values if v.get("durationMs")]
                default = int((param.get("value") or {}).get("durationMs") or 0)
                if default and default not in choices:
                    choices.append(default)
                if choices:
                    return sorted(choices), default or choices[0]
    raise KitError(f"workbook {workbook.key}", "has no TimeRange parameter to choose from")


@dataclass(frozen=True)
class RuleState:
    rule: AlertRuleSpec
    evaluations: list[AlertDecision]
    error: str = ""

    @property
    def state(self) -> str:
        if self.error:
            return "error"
        return "firing" if any(e.firing for e in self.evaluations) else "ok"


def evaluate_rules(store: Any, rules: Sequence[AlertRuleSpec], at: datetime) -> list[RuleState]:
    """Every rule evaluated once at *at* (as ``alerts eval --at``), errors kept per rule."""
    states = []
    for rule in sorted(rules, key=lambda r: r.name):
        try:
            evaluator = RuleEvaluator(store, rule, volume=True)
            evaluations = [e for e in evaluator.run([at]) if e.at == at]
        except KitError as exc:
            states.append(RuleState(rule, [], str(exc)))
        else:
            states.append(RuleState(rule, evaluations))
    return states


class LiveSite:
    """Answers the page routes for :class:`~.ingest.IngestServer` (``site=``)."""

    def __init__(
        self,
        store: LocalStore | None,
        workbooks: Sequence[WorkbookArtifact],
        rules: Sequence[AlertRuleSpec],
        *,
        stack: str,
        token: str,
        store_label: str,
        refresh_s: int = DEFAULT_REFRESH_S,
        stats: Any = None,
    ) -> None:
        self.store = store
        self.workbooks = {w.key: w for w in sorted(workbooks, key=lambda w: w.key)}
        self.choices = {key: time_range_choices(w) for key, w in self.workbooks.items()}
        self.rules = list(rules)
        self.stack = stack
        self.token = token
        self.store_label = store_label
        self.refresh_s = refresh_s
        self.stats = stats
        self._reads = threading.BoundedSemaphore(CONCURRENT_READS)

    # -- routing ---------------------------------------------------------------------------
    def get(self, path: str, query: str) -> Reply | None:
        """The page for *path*, or None when it is not a page route."""
        params = parse_qs(query)
        if path in ("/", "/index.html"):
            with self._reads:
                return self._html(self.index_html())
        if path.startswith("/") and path.endswith(".html") and path[1:-5] in self.workbooks:
            key = path[1:-5]
            try:
                duration = self._duration(key, params.get("range", [""])[0])
            except KitError as exc:
                return Reply(400, "text/plain; charset=utf-8", str(exc).encode())
            with self._reads:
                return self._html(self.workbook_html(key, duration))
        return None

    def post(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply | None:
        if path != QUERY_PATH:
            return None
        given = headers.get(TOKEN_HEADER) or ""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return self._json(403, {"error": {"where": QUERY_PATH, "problem": "bad token"}})
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            return self._json(400, {"error": {"where": QUERY_PATH, "problem": f"not JSON: {exc}"}})
        with self._reads:
            return self._json(*answer_query(self.store, request))

    # -- pages -----------------------------------------------------------------------------
    def _duration(self, key: str, given: str) -> int:
        choices, default = self.choices[key]
        if not given:
            return default
        if not (given.isascii() and given.isdigit()) or int(given) not in choices:
            allowed = ", ".join(f"{ms} ({duration_label(ms)})" for ms in choices)
            raise KitError(f"range={given}", f"not a time range of {key}; one of {allowed}")
        return int(given)

    def _head(self) -> str:
        if self.refresh_s <= 0:
            return ""
        return f'<meta http-equiv="refresh" content="{self.refresh_s}">'

    def _live_line(self, now: datetime, seconds: float) -> str:
        items = ""
        if self.stats is not None:
            items = f" · {self.stats.items_accepted:,} items received since start"
        refresh = f" · reloads every {self.refresh_s} s" if self.refresh_s > 0 else ""
        return (
            f'<span data-rendered-at="{now.isoformat()}">Live at {now:%H:%M:%S}Z '
            f"(rendered in {seconds:.1f} s){refresh}{items}</span>"
        )

    def workbook_html(self, key: str, duration_ms: int, now: datetime | None = None) -> str:
        started = time.monotonic()
        end = now or datetime.now(UTC)
        span = (end - timedelta(milliseconds=duration_ms), end)
        run = run_workbook(self.store, self.workbooks[key], span)
        choices, _ = self.choices[key]
        links = "".join(
            f'<a href="{escape(key)}.html?range={ms}" data-range-ms="{ms}"'
            + (' class="current"' if ms == duration_ms else "")
            + f">{duration_label(ms)}</a>"
            for ms in choices
        )
        live = self._live_line(end, time.monotonic() - started)
        banner = f'<div class="live"><span class="ranges">Last {links}</span>{live}</div>'
        label = f"live store {self.store_label}"
        return workbook_page(run, self.stack, label, head=self._head(), banner=banner)

    def index_html(self, now: datetime | None = None) -> str:
        started = time.monotonic()
        at = now or datetime.now(UTC)
        order = {"firing": 0, "error": 1, "ok": 2}  # what needs attention first
        states = sorted(
            evaluate_rules(self.store, self.rules, at), key=lambda s: (order[s.state], s.rule.name)
        )
        books = "".join(
            f'<li data-workbook="{escape(key)}"><a href="{escape(key)}.html">'
            f"{escape(w.display_name)}</a>"
            f'<p class="note">{escape(w.description)}</p></li>'
            for key, w in self.workbooks.items()
        )
        firing = sum(s.state == "firing" for s in states)
        header = (
            "<h1>llm-insights — local Application Insights</h1>"
            f'<p class="meta">Stack <b>{escape(self.stack)}</b> · live store '
            f"{escape(self.store_label)}</p>"
            f'<div class="live">{self._live_line(at, time.monotonic() - started)}</div>'
        )
        body = (
            f'<h2>Workbooks</h2><ul class="workbooks compact">{books}</ul>'
            f'<h2 id="alerts">Alert rules <span class="note" data-firing="{firing}">'
            f"{firing} of {len(states)} firing, evaluated at {at:%H:%M:%S}Z</span></h2>"
            f"{_alerts_table(states)}"
        )
        return html_page("llm-insights live", header, body, head=self._head())

    # -- replies ---------------------------------------------------------------------------
    @staticmethod
    def _html(text: str) -> Reply:
        return Reply(200, "text/html; charset=utf-8", text.encode())

    @staticmethod
    def _json(status: int, payload: Any) -> Reply:
        return Reply(status, "application/json; charset=utf-8", json.dumps(payload).encode())


def _alerts_table(states: Sequence[RuleState]) -> str:
    rows = []
    for s in states:
        rule = s.rule
        condition = f"{rule.time_aggregation} {rule.operator} {format_value(rule.threshold)}"
        enabled = "" if rule.enabled else " (disabled in this stack)"
        if s.error:
            value, why = "", s.error
        elif not s.evaluations:
            value, why = "no data", "the query returned no series in the window"
        else:
            value = ", ".join(
                e.below_minimum if e.value is None and e.below_minimum else format_value(e.value)
                for e in s.evaluations
            )
            why = " | ".join(e.why for e in s.evaluations)
        rows.append(
            f'<tr data-rule="{escape(rule.name)}" data-alert-state="{s.state}">'
            f"<td>{s.state.upper()}</td><td>{escape(rule.display_name or rule.name)}"
            f'<div class="note">{escape(rule.name)} · Sev{rule.severity}{enabled}</div></td>'
            f'<td class="num">{escape(value)}</td><td>{escape(condition)}</td>'
            f'<td class="why">{escape(why)}</td></tr>'
        )
    head = "<tr><th>state</th><th>rule</th><th>value</th><th>condition</th><th>why</th></tr>"
    return f'<table class="data alerts"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


__all__ = ["DEFAULT_REFRESH_S", "LiveSite", "Reply", "duration_label", "evaluate_rules"]
