"""Rule unit-test fixtures: parse and validate the YAML (the rows they stand for: ``synthesis``).

A fixture file is to alert rules what ``promtool test rules`` files are to Prometheus rules:
synthetic telemetry plus the alerts expected to fire (or not) at given times. The format is
documented in ``alerts/tests/README.md``. Every metric name, attribute key, event name and column
in a fixture is checked against the telemetry contract, so a fixture cannot silently test a name
the SDK never emits; a bad fixture is a :class:`KitError` naming the file, the test and the field.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from llm_insights import contract

from .. import emitted
from ..errors import KitError
from ..fsutil import read_yaml
from ..messages import assignment, did_you_mean, located
from ..tables import TABLES
from .durations import parse_short_duration

DEFAULT_ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
MAX_ROWS_PER_TEST = 200_000

_FILE_KEYS = {"rule_files", "evaluation_time_origin", "allow_attributes", "allow_events", "tests"}
_TEST_KEYS = {"name", "stack", "series", "expect"}
_SERIES_KEYS = {
    "table",
    "metric",
    "event",
    "dimensions",
    "values",
    "buckets",
    "at",
    "every",
    "from",
    "to",
    "count",
}
_EXPECT_KEYS = {"rule", "at", "firing", "series", "value_between", "event", "notified"}
_EVENTS = ("fired", "resolved", "none")
# Columns a series sets through its own keys, not through ``values``.
_RESERVED_COLUMNS = {"timestamp", "customDimensions"}
_METRIC_VALUE_COLUMNS = ("value", "valueCount", "valueSum", "valueMin", "valueMax", "valueStdDev")


@dataclass(frozen=True)
class Series:
    """One synthetic series: a table, a constant row shape and the times it is emitted at."""

    table: str
    times: tuple[timedelta, ...]
    rows_per_time: int
    columns: Mapping[str, Any]  # constant columns (name, value..., success, itemCount, ...)
    dimensions: Mapping[str, Any]  # customDimensions
    buckets: Mapping[str, float] = field(default_factory=dict)  # le label -> count


@dataclass(frozen=True)
class Expectation:
    rule: str
    at: timedelta
    firing: bool
    series: Mapping[str, str] = field(default_factory=dict)
    value_between: tuple[float, float] | None = None
    event: str | None = None  # fired | resolved | none
    notified: bool | None = None
    index: int = 0


@dataclass(frozen=True)
class RuleTest:
    name: str
    series: tuple[Series, ...]
    expect: tuple[Expectation, ...]
    stack: str | None = None
    index: int = 0


@dataclass(frozen=True)
class FixtureFile:
    path: Path
    origin: datetime
    rule_dirs: tuple[Path, ...] | None  # None: the kit's alerts/
    tests: tuple[RuleTest, ...]


class _Where:
    """Builds KitErrors that name the fixture file and the test."""

    def __init__(self, path: Path, test: str | None = None) -> None:
        self.path = path
        self.test = test

    def error(self, fld: str, problem: str) -> KitError:
        scope = () if self.test is None else (f"test {self.test!r}",)
        return KitError(str(self.path), located(*scope, fld, problem))

    def invalid(self, fld: str, value: Any, problem: str) -> KitError:
        """``test 'x': fld = value: problem`` (values as the fixture's YAML gave them)."""
        return self.error(assignment(fld, value, "repr"), problem)


def _mapping(where: _Where, fld: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise where.error(fld, f"expected a mapping, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _keys(where: _Where, fld: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise where.error(
                f"{fld}.{key}" if fld else str(key),
                "unknown key"
                + did_you_mean(str(key), sorted(allowed))
                + "; allowed: "
                + ", ".join(sorted(allowed)),
            )


def _duration(where: _Where, fld: str, value: Any, *, positive: bool = False) -> timedelta:
    delta = parse_short_duration(value)
    if delta is None or (positive and delta <= timedelta(0)):
        kind = "a positive duration" if positive else "a duration"
        raise where.invalid(fld, value, f"expected {kind} such as 30s, 5m, 1h30m")
    return delta


def _number(where: _Where, fld: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise where.invalid(fld, value, "expected a number")
    return float(value)


def parse_origin(where: _Where, value: Any) -> datetime:
    if value is None:
        return DEFAULT_ORIGIN
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise where.invalid(
                "evaluation_time_origin",
                value,
                "expected an ISO 8601 time such as 2026-01-01T00:00:00Z",
            ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def load_fixture_file(path: Path) -> FixtureFile:
    """Parse and validate one fixture file (rules are resolved later, by the runner)."""
    where = _Where(path)
    data = read_yaml(path, "fixture file")
    if not isinstance(data, Mapping):
        raise KitError(str(path), "expected a mapping with a 'tests' list at the top level")
    _keys(where, "", data, _FILE_KEYS)
    origin = parse_origin(where, data.get("evaluation_time_origin"))

    rule_dirs: tuple[Path, ...] | None = None
    if data.get("rule_files") is not None:
        raw = data["rule_files"]
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not raw or not all(isinstance(p, str) for p in raw):
            raise where.error("rule_files", "expected a list of rule directories")
        rule_dirs = tuple((path.parent / p).resolve() for p in raw)
        for rd in rule_dirs:
            if not rd.is_dir():
                raise where.invalid("rule_files", str(rd), "not a directory of rule YAML")

    extra_attrs = _string_list(where, "allow_attributes", data.get("allow_attributes"))
    extra_events = _string_list(where, "allow_events", data.get("allow_events"))
    raw_tests = data.get("tests")
    if not isinstance(raw_tests, list) or not raw_tests:
        raise where.error("tests", "expected a non-empty list of tests")
    tests: list[RuleTest] = []
    seen: set[str] = set()
    for i, raw_test in enumerate(raw_tests):
        test = _parse_test(path, i, raw_test, extra_attrs, extra_events)
        if test.name in seen:
            raise _Where(path, test.name).error("name", "duplicate test name in this file")
        seen.add(test.name)
        tests.append(test)
    return FixtureFile(path=path, origin=origin, rule_dirs=rule_dirs, tests=tuple(tests))


def _string_list(where: _Where, fld: str, value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error(fld, "expected a list of names")
    return frozenset(value)


def _parse_test(
    path: Path, index: int, raw: Any, extra_attrs: frozenset[str], extra_events: frozenset[str]
) -> RuleTest:
    if not isinstance(raw, Mapping):
        raise _Where(path).error(f"tests[{index}]", "expected a mapping with name/series/expect")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _Where(path).error(f"tests[{index}].name", "every test needs a non-empty name")
    where = _Where(path, name)
    _keys(where, "", raw, _TEST_KEYS)
    stack = raw.get("stack")
    if stack is not None and (not isinstance(stack, str) or not stack):
        raise where.error("stack", "expected a stack name such as dev or prod")
    raw_series = raw.get("series") or []
    if not isinstance(raw_series, list):
        raise where.error("series", "expected a list of series")
    series = tuple(
        _parse_series(where, f"series[{i}]", s, extra_attrs, extra_events)
        for i, s in enumerate(raw_series)
    )
    total = sum(len(s.times) * s.rows_per_time * max(1, len(s.buckets)) for s in series)
    if total > MAX_ROWS_PER_TEST:
        raise where.error("series", f"{total} rows; at most {MAX_ROWS_PER_TEST} per test")
    raw_expect = raw.get("expect")
    if not isinstance(raw_expect, list) or not raw_expect:
        raise where.error("expect", "expected a non-empty list of expected alerts")
    expect = tuple(_parse_expect(where, i, e) for i, e in enumerate(raw_expect))
    return RuleTest(name=name, series=series, expect=expect, stack=stack, index=index)


def _parse_series(
    where: _Where, fld: str, raw: Any, extra_attrs: frozenset[str], extra_events: frozenset[str]
) -> Series:
    if not isinstance(raw, Mapping):
        raise where.error(fld, "expected a mapping with table, dimensions, values and times")
    _keys(where, fld, raw, _SERIES_KEYS)
    table = raw.get("table")
    if table not in TABLES:
        raise where.invalid(
            f"{fld}.table",
            table,
            "allowed: " + ", ".join(sorted(TABLES)) + did_you_mean(str(table), TABLES),
        )
    column_types = dict(TABLES[table])
    columns: dict[str, Any] = {}
    dimensions = _mapping(where, f"{fld}.dimensions", raw.get("dimensions"))
    buckets: dict[str, float] = {}

    metric = raw.get("metric")
    event = raw.get("event")
    if table == contract.TABLE_METRICS:
        if event is not None:
            raise where.error(f"{fld}.event", "only for customEvents/traces; metrics use 'metric'")
        spec = emitted.METRICS_BY_NAME.get(metric) if isinstance(metric, str) else None
        if spec is None:
            raise where.invalid(
                f"{fld}.metric",
                metric,
                "not a metric of the telemetry contract"
                + did_you_mean(str(metric), list(emitted.METRICS_BY_NAME)),
            )
        columns["name"] = spec.name
        allowed_dims = set(spec.dimensions)
        for key in dimensions:
            if key not in allowed_dims:
                raise where.error(
                    f"{fld}.dimensions.{key}",
                    f"not a dimension of metric {spec.name}; allowed: "
                    + ", ".join(sorted(allowed_dims)),
                )
        buckets = _parse_buckets(where, fld, raw.get("buckets"), spec, dimensions)
    else:
        if metric is not None:
            raise where.error(f"{fld}.metric", "only for table customMetrics")
        if raw.get("buckets") is not None:
            raise where.error(f"{fld}.buckets", "only for bucket-counter metrics in customMetrics")
        if event is not None:
            if table not in (contract.TABLE_EVENTS, contract.TABLE_SPAN_EVENTS):
                raise where.error(f"{fld}.event", "only for customEvents and traces")
            if event not in emitted.EVENTS and event not in extra_events:
                raise where.invalid(
                    f"{fld}.event",
                    event,
                    "not an event of the telemetry contract"
                    + did_you_mean(str(event), emitted.EVENTS)
                    + "; declare your own under allow_events",
                )
            columns["name" if table == contract.TABLE_EVENTS else "message"] = event
        known = set(emitted.ATTRIBUTES) | extra_attrs | {contract.MS_CUSTOM_EVENT_NAME}
        for key in dimensions:
            if key not in known:
                raise where.error(
                    f"{fld}.dimensions.{key}",
                    "not an attribute of the telemetry contract"
                    + did_you_mean(key, sorted(known))
                    + "; declare your own under allow_attributes",
                )

    values = _mapping(where, f"{fld}.values", raw.get("values"))
    for col, val in values.items():
        if col in _RESERVED_COLUMNS or col not in column_types:
            allowed = sorted(set(column_types) - _RESERVED_COLUMNS)
            raise where.error(
                f"{fld}.values.{col}",
                f"not a settable column of {table}" + did_you_mean(col, allowed),
            )
        if col in columns:
            raise where.error(f"{fld}.values.{col}", f"set by the series' '{col}' key already")
        columns[col] = _coerce(where, f"{fld}.values.{col}", val, column_types[col])
    if buckets and any(c in values for c in _METRIC_VALUE_COLUMNS):
        raise where.error(f"{fld}.values", "a 'buckets' series sets the counts; drop 'values'")

    times = _times(where, fld, raw)
    count = raw.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise where.invalid(f"{fld}.count", count, "expected rows per time, an integer >= 0")
    return Series(
        table=table,
        times=times,
        rows_per_time=count,
        columns=columns,
        dimensions={k: _dimension_value(v) for k, v in dimensions.items()},
        buckets=buckets,
    )


def _parse_buckets(
    where: _Where,
    fld: str,
    raw: Any,
    spec: contract.MetricSpec,
    dimensions: Mapping[str, Any],
) -> dict[str, float]:
    is_bucket_counter = contract.ATTR_BUCKET_LE in spec.dimensions
    if raw is None:
        if is_bucket_counter and contract.ATTR_BUCKET_LE not in dimensions:
            raise where.error(
                f"{fld}.buckets",
                f"{spec.name} is a bucket counter: give 'buckets: {{le: count, ...}}' or "
                f"dimension {contract.ATTR_BUCKET_LE}",
            )
        if contract.ATTR_BUCKET_LE in dimensions:
            _bucket_label(where, f"{fld}.dimensions.{contract.ATTR_BUCKET_LE}", spec,
                          dimensions[contract.ATTR_BUCKET_LE])  # fmt: skip
        return {}
    if not is_bucket_counter:
        raise where.error(f"{fld}.buckets", f"{spec.name} is not a bucket counter")
    if contract.ATTR_BUCKET_LE in dimensions:
        raise where.error(
            f"{fld}.dimensions.{contract.ATTR_BUCKET_LE}", "set by 'buckets'; drop it here"
        )
    table = _mapping(where, f"{fld}.buckets", raw)
    if not table:
        raise where.error(f"{fld}.buckets", "expected at least one 'le: count' entry")
    out: dict[str, float] = {}
    for le, n in table.items():
        label = _bucket_label(where, f"{fld}.buckets", spec, le)
        out[label] = _number(where, f"{fld}.buckets.{le}", n)
    return out


def _bucket_label(where: _Where, fld: str, spec: contract.MetricSpec, le: Any) -> str:
    labels = [contract.bucket_label(b) for b in spec.bounds] + [contract.INF_BOUND]
    text = str(le).strip()
    if text not in labels:
        with contextlib.suppress(ValueError):
            text = contract.bucket_label(float(text))
    if text not in labels:
        raise where.invalid(
            fld, le, f"not a bucket bound of {spec.name}; allowed: " + ", ".join(labels)
        )
    return text


def _times(where: _Where, fld: str, raw: Mapping[str, Any]) -> tuple[timedelta, ...]:
    if raw.get("at") is not None:
        if any(raw.get(k) is not None for k in ("every", "from", "to")):
            raise where.error(f"{fld}.at", "give either 'at' or 'every'/'from'/'to', not both")
        ats = raw["at"] if isinstance(raw["at"], list) else [raw["at"]]
        return tuple(_duration(where, f"{fld}.at", a) for a in ats)
    if raw.get("every") is None or raw.get("to") is None:
        raise where.error(f"{fld}", "needs 'at: <time>' or 'every', 'to' (and optional 'from')")
    every = _duration(where, f"{fld}.every", raw["every"], positive=True)
    start = _duration(where, f"{fld}.from", raw.get("from", "0m"))
    end = _duration(where, f"{fld}.to", raw["to"])
    if end <= start:
        raise where.invalid(f"{fld}.to", raw["to"], "must be after 'from'")
    steps = math.ceil((end - start) / every)
    return tuple(start + i * every for i in range(steps))


_TYPE_CHECKS: dict[str, tuple[type, ...]] = {
    "string": (str, int, float),
    "real": (int, float),
    "long": (int,),
    "int": (int,),
    "bool": (bool,),
    "dynamic": (dict, list, str, int, float, bool),
    "datetime": (datetime,),
}


def _coerce(where: _Where, fld: str, value: Any, kusto_type: str) -> Any:
    ok = isinstance(value, _TYPE_CHECKS.get(kusto_type, (object,)))
    if kusto_type in ("real", "long", "int", "string") and isinstance(value, bool):
        ok = False
    if not ok:
        raise where.invalid(fld, value, f"expected a {kusto_type}")
    if kusto_type == "string":
        return str(value)
    if kusto_type == "real":
        return float(value)
    return value


def _dimension_value(value: Any) -> str:
    """customDimensions values are strings in Application Insights."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_expect(where: _Where, index: int, raw: Any) -> Expectation:
    fld = f"expect[{index}]"
    if not isinstance(raw, Mapping):
        raise where.error(fld, "expected a mapping with rule, at, firing")
    _keys(where, fld, raw, _EXPECT_KEYS)
    rule = raw.get("rule")
    if not isinstance(rule, str) or not rule:
        raise where.error(f"{fld}.rule", "expected a rule name")
    if "at" not in raw:
        raise where.error(f"{fld}.at", "expected the evaluation time, e.g. 20m")
    at = _duration(where, f"{fld}.at", raw["at"])
    firing = raw.get("firing")
    if not isinstance(firing, bool):
        raise where.invalid(f"{fld}.firing", firing, "expected true or false")
    series = {
        str(k): _dimension_value(v)
        for k, v in _mapping(where, f"{fld}.series", raw.get("series")).items()
    }
    between = raw.get("value_between")
    bounds: tuple[float, float] | None = None
    if between is not None:
        if not isinstance(between, list) or len(between) != 2:
            raise where.error(f"{fld}.value_between", "expected [low, high]")
        low = _number(where, f"{fld}.value_between[0]", between[0])
        high = _number(where, f"{fld}.value_between[1]", between[1])
        if low > high:
            raise where.error(f"{fld}.value_between", "low must not exceed high")
        bounds = (low, high)
    event = raw.get("event")
    if event is not None and event not in _EVENTS:
        raise where.invalid(f"{fld}.event", event, "allowed: " + ", ".join(_EVENTS))
    notified = raw.get("notified")
    if notified is not None and not isinstance(notified, bool):
        raise where.invalid(f"{fld}.notified", notified, "expected true or false")
    return Expectation(
        rule=rule,
        at=at,
        firing=firing,
        series=series,
        value_between=bounds,
        event=event,
        notified=notified,
        index=index,
    )


def discover(paths: Sequence[Path]) -> list[Path]:
    """Fixture files: each path as given, or every ``*.yaml``/``*.yml`` in a directory but the
    stack files (``Pulumi.<stack>.yaml``: a test's ``stack`` is looked up beside it)."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
            files.extend(f for f in found if not f.name.startswith("Pulumi."))
        elif p.is_file():
            files.append(p)
        else:
            raise KitError(str(p), "no such fixture file or directory")
    return files
