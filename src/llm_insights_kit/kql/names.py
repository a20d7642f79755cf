"""Prove a query reads only names the SDK emits (the telemetry contract).

A small KQL tokenizer finds the string literals a query uses as names:
``customDimensions["<key>"]`` / ``customMeasurements["<key>"]`` (attribute keys) and
``name == "<x>"`` / ``name in ("<x>", …)`` (metric or event names). Each must be one the SDK emits
(``emitted``: ``METRICS_BY_NAME``, ``EVENTS``, ``ATTRIBUTES``); and when a query reads only
``customMetrics``, every attribute it reads must be a dimension of one of the metrics it names —
a renamed metric, a moved attribute or a typo in a template shows up here instead of as an empty
panel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llm_insights import contract

from .. import emitted
from ..tables import TABLES

_TOKEN = re.compile(
    r"""
    (?P<comment>//[^\n]*)
  | (?P<string>[@]?(?:"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|=~|!=|!~|<=|>=|[\[\](),|=<>])
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE,
)
PROPERTY_BAGS = ("customDimensions", "customMeasurements")
NAME_COLUMN = "name"


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    offset: int

    @property
    def value(self) -> str:
        """The literal's value (quotes removed, escapes resolved)."""
        body = self.text[1:] if self.text.startswith("@") else self.text
        inner = body[1:-1]
        return inner if self.text.startswith("@") else re.sub(r"\\(.)", r"\1", inner)


@dataclass(frozen=True)
class NameProblem:
    where: str
    name: str
    kind: str  # attribute | metric-or-event | dimension
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind} {self.name!r}: {self.problem}"


def tokens(query: str) -> list[Token]:
    found = []
    for m in _TOKEN.finditer(query):
        kind = m.lastgroup or "other"
        if kind not in ("space", "comment"):
            found.append(Token(kind, m.group(), m.start()))
    return found


@dataclass(frozen=True)
class NamesRead:
    attributes: tuple[str, ...]
    names: tuple[str, ...]  # metric/event names compared with the name column
    tables: tuple[str, ...]


def names_read(query: str) -> NamesRead:
    toks = tokens(query)
    attributes: list[str] = []
    names: list[str] = []
    tables = sorted({t.text for t in toks if t.kind == "ident" and t.text in TABLES})
    for i, tok in enumerate(toks):
        nxt = toks[i + 1 : i + 4]
        if (
            tok.kind == "ident"
            and tok.text in PROPERTY_BAGS
            and [t.text for t in nxt[0:1] + nxt[2:3]] == ["[", "]"]
            and nxt[1].kind == "string"
        ):
            attributes.append(nxt[1].value)
        if tok.kind == "ident" and tok.text == NAME_COLUMN and nxt:
            if nxt[0].text in ("==", "=~") and len(nxt) > 1 and nxt[1].kind == "string":
                names.append(nxt[1].value)
            elif nxt[0].kind == "ident" and nxt[0].text == "in" and len(nxt) > 1:
                j = i + 3  # after "in ("
                while j < len(toks) and toks[j].text != ")":
                    if toks[j].kind == "string":
                        names.append(toks[j].value)
                    j += 1
    return NamesRead(tuple(dict.fromkeys(attributes)), tuple(dict.fromkeys(names)), tuple(tables))


def check_query(where: str, query: str) -> list[NameProblem]:
    """Problems with the names one query reads (empty when every name is in the contract)."""
    read = names_read(query)
    problems: list[NameProblem] = []
    known_names = {
        **{n: "metric" for n in emitted.METRICS_BY_NAME},
        **dict.fromkeys(emitted.EVENTS, "event"),
    }
    for name in read.names:
        if name not in known_names:
            problems.append(
                NameProblem(
                    where, name, "metric-or-event", "the SDK emits no metric or event of this name"
                )
            )
    attributes = set(emitted.ATTRIBUTES)
    for attr in read.attributes:
        if attr not in attributes:
            problems.append(
                NameProblem(where, attr, "attribute", "not an attribute in the contract")
            )
    span_only = (
        contract.TABLE_METRICS not in read.tables and contract.TABLE_LLM_SPANS in read.tables
    )
    if span_only and contract.ERROR_TYPE in read.attributes:
        problems.append(
            NameProblem(
                where,
                contract.ERROR_TYPE,
                "attribute",
                "the Azure Monitor exporter drops it from span customDimensions; spans carry "
                f"{contract.ATTR_ERROR_TYPE}",
            )
        )
    metrics = [emitted.METRICS_BY_NAME[n] for n in read.names if n in emitted.METRICS_BY_NAME]
    only_metrics = read.tables == (contract.TABLE_METRICS,)
    if metrics and only_metrics:
        carried = {d for m in metrics for d in m.dimensions}
        for attr in read.attributes:
            if attr in attributes and attr not in carried:
                problems.append(
                    NameProblem(
                        where,
                        attr,
                        "dimension",
                        "none of the metrics this query reads carries it ("
                        + ", ".join(m.name for m in metrics)
                        + ")",
                    )
                )
    return problems
