"""Instruments created once from the contract's MetricSpecs, with allow-listed, capped dimensions.

Every record's dimensions pass :meth:`Instruments.record` (or, on a call's fast path, its
``Series``: :meth:`Instruments.series`): attributes not in the metric's contract dimensions are
dropped (user, session, tenant and response ids never reach a metric), and each dimension's
distinct values are capped (``contract.MAX_DIMENSION_VALUES``, then
``contract.OVERFLOW_VALUE``), so customMetrics cardinality stays bounded whatever the app passes.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from . import contract as c
from ._tally import HANDOVER_GAUGE, TALLY, Items, SumAdd, SumKey

_METER_NAME = "llm_insights"
_SCALARS = frozenset({str, bool, int, float})
_CAPPED = frozenset(c.CAPPED_DIMENSIONS)
_MODEL_DIMS = frozenset(c.MODEL_DIMENSIONS)
#: The instruments ``_span_metrics.foreign_metric_views`` drops on every other meter.
FOREIGN_GENAI_METRICS = "gen_ai.client.*"


def internal_name(spec: c.MetricSpec) -> str | None:
    """The name the kit's own instrument of *spec* is created under when the provider carries
    the kit's views (``views``), which export it under ``spec.name``; None: always its own name.

    A view cannot exclude a meter, so a kit instrument named ``gen_ai.client.*`` also passes
    through the view dropping other meters' ``gen_ai.client.*`` metrics: each record pays a
    second attribute pass for nothing. Under this name it matches the kit's view only."""
    if fnmatchcase(spec.name, FOREIGN_GENAI_METRICS):
        return f"{_METER_NAME}.{spec.name}"
    return None


def _renames(provider: Any) -> bool:
    """Whether *provider* carries every renaming view of ``views`` (then the kit's instruments
    may use their internal names). Read from the SDK provider's configuration; anything else —
    a proxy, another SDK release, views missing — answers False and the instruments keep their
    exported names, which are right without the views too."""
    try:
        found = {
            v._instrument_name: v._name
            for v in provider._sdk_config.views
            if v._meter_name == _METER_NAME and v._name
        }
        wanted = {internal_name(s): s.name for s in c.METRICS if internal_name(s)}
        return bool(wanted) and all(found.get(k) == n for k, n in wanted.items())
    except Exception:
        return False


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("llm-insights")
    except Exception:
        return "0"


def bucket_for(value: float, bounds: tuple[float, ...]) -> str:
    """The ``llm_insights.bucket.le`` label of *value*: the first bound b with value <= b."""
    for b in bounds:
        if value <= b:
            return c.bucket_label(b)
    return c.INF_BOUND


def finite_number(value: Any) -> float | None:
    """*value* as a finite float, or None for anything else (None, NaN, inf, str, bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def count_of(value: Any) -> int | None:
    """A usable count (tokens, calls): a non-negative integer or integral float, else None."""
    v = finite_number(value)
    if v is None or v < 0 or v != int(v):
        return None
    return int(v)


class _DimensionCap:
    """Per-key bound on the number of distinct metric attribute values."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: dict[str, set[Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str, value: Any) -> Any:
        if key == c.ATTR_BUCKET_LE:
            return value
        seen = self._seen.get(key)
        if seen is not None and value in seen:
            return value
        with self._lock:
            seen = self._seen.setdefault(key, set())
            if value in seen:
                return value
            if len(seen) >= self.limit:
                return c.OVERFLOW_VALUE
            seen.add(value)
            return value


class Instruments:
    """All contract instruments on one meter."""

    def __init__(self, meter_provider: Any = None) -> None:
        from opentelemetry import metrics

        provider = meter_provider or metrics.get_meter_provider()
        meter = provider.get_meter(_METER_NAME, _version())
        self._by_name: dict[str, Any] = {}
        self._allowed: dict[str, frozenset[str]] = {}
        self.cap = _DimensionCap(c.MAX_DIMENSION_VALUES)
        # bucket labels computed once, not per record
        self._labels: dict[str, tuple[str, ...]] = {
            spec.name: (*(c.bucket_label(b) for b in spec.bounds), c.INF_BOUND)
            for spec in c.METRICS
        }
        renames = _renames(provider)
        for spec in c.METRICS:
            self._allowed[spec.name] = frozenset(spec.dimensions)
            if spec.instrument == "histogram":
                name = (internal_name(spec) if renames else None) or spec.name
                try:
                    inst = meter.create_histogram(
                        name,
                        unit=spec.unit,
                        description=spec.description,
                        explicit_bucket_boundaries_advisory=list(spec.bounds) or None,
                    )
                except TypeError:  # opentelemetry-api < 1.23 has no advisory boundaries
                    inst = meter.create_histogram(
                        name, unit=spec.unit, description=spec.description
                    )
            else:
                inst = meter.create_counter(spec.name, unit=spec.unit, description=spec.description)
            self._by_name[spec.name] = inst
        # tally keys without extra dimensions, built once (see ``key``, ``bucket_key``)
        self._keys: dict[str, SumKey] = {
            spec.name: (self._by_name[spec.name], ()) for spec in c.METRICS
        }
        self._bucket_keys: dict[str, tuple[SumKey, ...]] = {
            spec.name: tuple(
                (self._by_name[spec.name], ((c.ATTR_BUCKET_LE, label),))
                for label in self._labels[spec.name]
            )
            for spec in c.METRICS
        }
        self._cost_keys: dict[str | None, tuple[SumKey, SumKey]] = {}
        # counters are summed in process and handed over at each collection (see _tally)
        self.tally = TALLY
        meter.create_observable_gauge(
            HANDOVER_GAUGE,
            callbacks=[self.tally.callback],
            description="Never exported: hands the SDK's counter sums over at each collection.",
        )

    def instrument_name(self, spec: c.MetricSpec) -> str:
        """The name *spec*'s instrument was created under (``internal_name`` or its own)."""
        return self._by_name[spec.name].name

    def _attrs(self, spec: c.MetricSpec, attrs: Mapping[str, Any] | None) -> dict[str, Any]:
        if not attrs:
            return {}
        allowed = self._allowed[spec.name]
        cap = self.cap
        out: dict[str, Any] = {}
        for k, v in attrs.items():
            if k in allowed and type(v) in _SCALARS:
                out[k] = cap(k, v) if k in _CAPPED else v
        return out

    def record(self, spec: c.MetricSpec, value: Any, attrs: Mapping[str, Any] | None) -> None:
        """Record *value* on a histogram (non-finite and negative values, which OpenTelemetry
        histograms reject, are dropped)."""
        v = finite_number(value)
        if v is not None and v >= 0:
            self._by_name[spec.name].record(v, self._attrs(spec, attrs))

    def add(self, spec: c.MetricSpec, value: Any, attrs: Mapping[str, Any] | None) -> None:
        """Count *value* on a counter (via the in-process tally; non-finite and negative values
        are dropped)."""
        v = finite_number(value)
        if v is not None and v >= 0:
            self.tally.add(self._by_name[spec.name], v, self._attrs(spec, attrs))

    def bucket(self, spec: c.MetricSpec, value: Any, attrs: Mapping[str, Any] | None) -> None:
        """Count *value* in its bucket of a ``*.buckets`` counter."""
        v = finite_number(value)
        if v is not None:
            self.add(spec, 1, {**(attrs or {}), c.ATTR_BUCKET_LE: bucket_for(v, spec.bounds)})

    # -- the per-call fast path -----------------------------------------------------------------
    # One LLM call records up to ten measurements with the same model dimensions. Allow-listing
    # and capping them once per set of dimensions (a ``Series``, which callers keep per call
    # shape), then handing the same dicts to every histogram and the same prebuilt keys to the
    # tally, keeps the per-call work to a lookup per measurement; OpenTelemetry copies the
    # attributes on record, so sharing the dicts is safe.
    def model_dims(self, attrs: Mapping[str, Any]) -> dict[str, Any]:
        """The contract's MODEL_DIMENSIONS of *attrs*, scalar values only, capped."""
        cap = self.cap
        return {
            k: cap(k, v) if k in _CAPPED else v
            for k, v in attrs.items()
            if k in _MODEL_DIMS and type(v) in _SCALARS
        }

    def series(self, attrs: Mapping[str, Any]) -> Series:
        """The ``Series`` of a call with dimensions *attrs* (``model_dims`` applied). A capped
        value stays what the cap made it for the instruments' life, so callers may keep it."""
        return Series(self.model_dims(attrs))

    def capped(self, key: str, value: str) -> str:
        """*value* of dimension *key* after the distinct-value cap."""
        return self.cap(key, value) if key in _CAPPED else value

    def record_dims(self, spec: c.MetricSpec, value: float, dims: dict[str, Any]) -> None:
        """Record on a histogram; *dims* come from a ``Series`` (plus keys of *spec*'s own
        dimensions, already capped) and *value* is a finite number >= 0 the SDK computed."""
        self._by_name[spec.name].record(value, dims)

    def key(self, spec: c.MetricSpec, extra: Items = ()) -> SumKey:
        """The tally key of an add on counter *spec* with its own dimensions *extra* (items,
        already capped) beyond the series'."""
        if not extra:
            return self._keys[spec.name]
        return self._by_name[spec.name], extra

    def bucket_key(self, spec: c.MetricSpec, value: float, extra: Items = ()) -> SumKey:
        """The tally key that counts finite *value* in its bucket of a ``*.buckets`` counter
        (``bucket`` semantics), with *extra* items as in ``key``."""
        i = bisect_left(spec.bounds, value)
        if not extra:
            return self._bucket_keys[spec.name][i]
        return self._by_name[spec.name], (*extra, (c.ATTR_BUCKET_LE, self._labels[spec.name][i]))

    def cost_keys(self, source: str | None) -> tuple[SumKey, SumKey]:
        """The tally keys of a call's input and output cost priced from price data *source*
        (a handful per process: kept)."""
        keys = self._cost_keys.get(source)
        if keys is None:
            src = ((c.ATTR_PRICE_SOURCE, source),) if source else ()
            keys = (
                self.key(c.COST, ((c.GEN_AI_TOKEN_TYPE, c.TOKEN_TYPE_INPUT), *src)),
                self.key(c.COST, ((c.GEN_AI_TOKEN_TYPE, c.TOKEN_TYPE_OUTPUT), *src)),
            )
            if len(self._cost_keys) < c.MAX_DIMENSION_VALUES:  # bounded like the cap
                self._cost_keys[source] = keys
        return keys

    def series_add(self, series: Series, adds: list[SumAdd]) -> None:
        """A call's counter adds (each a key from ``key``/``bucket_key`` and a value >= 0 the SDK
        computed), summed in process at once under *series*."""
        self.tally.add_all(series.items, adds)


class Series:
    """Allow-listed, capped model dimensions shared by a call's measurements, in the shapes
    they are recorded with: histogram attributes (plain, by token type, by error type) and the
    items its counter sums are kept under. The dicts are shared, so never mutated once built;
    the error-type ones are built on first use."""

    __slots__ = ("_error_dims", "dims", "items", "token_dims")

    def __init__(self, dims: dict[str, Any]) -> None:
        self.dims = dims
        self.items: Items = tuple(dims.items())
        self.token_dims = {
            t: {**dims, c.GEN_AI_TOKEN_TYPE: t} for t in (c.TOKEN_TYPE_INPUT, c.TOKEN_TYPE_OUTPUT)
        }
        self._error_dims: dict[tuple[str, str], dict[str, Any]] = {}

    def error_dims(self, error: tuple[str, str]) -> dict[str, Any]:
        """The dimensions with *error* ((key, capped value)) added."""
        d = self._error_dims.get(error)
        if d is None:
            d = {**self.dims, error[0]: error[1]}
            if len(self._error_dims) < c.MAX_DIMENSION_VALUES:  # bounded like the cap
                self._error_dims[error] = d
        return d


def views() -> list[Any]:
    """Metric views for a MeterProvider: contract bucket boundaries, and attribute allow-lists
    on the counters.

    ``configure()`` passes them to the Azure Monitor distro; pass them to your own
    ``MeterProvider(views=...)`` when you wire OpenTelemetry yourself. The kit's
    ``gen_ai.client.*`` histograms get a second view each, exporting their internal name
    (``internal_name``) under the contract name.

    Only the kit records on its meter, and every histogram record's dimensions are already
    allow-listed and capped where the kit builds them (``Instruments.record``, ``series``), so
    a histogram view filters nothing: it keeps no attribute keys, which spares every record
    the SDK's second pass over its attributes (three records per call). Counters keep the
    allow-list in their view: they are handed over once per collection, not per call.
    """
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

    out = []
    for spec in c.METRICS:
        if spec.instrument == "histogram":
            for instrument, name in ((spec.name, None), (internal_name(spec), spec.name)):
                if instrument is None:
                    continue
                out.append(
                    View(
                        instrument_name=instrument,
                        name=name,
                        meter_name=_METER_NAME,
                        aggregation=ExplicitBucketHistogramAggregation(list(spec.bounds)),
                    )
                )
        else:
            out.append(
                View(
                    instrument_name=spec.name,
                    meter_name=_METER_NAME,
                    attribute_keys=set(spec.dimensions),
                )
            )
    return out
