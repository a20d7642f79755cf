"""Counter sums kept in process (``_tally``) must export exactly what direct ``Counter.add``
calls would: in the collection that follows them, to every reader, across provider changes and
threads — and the hand-over gauge itself must never be exported."""

from __future__ import annotations

import threading
from typing import Any

from llm_insights import _state
from llm_insights import contract as c
from llm_insights._metrics import Instruments
from llm_insights._tally import HANDOVER_GAUGE
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader

DIMS = {c.GEN_AI_OPERATION_NAME: c.OPERATION_CHAT, c.GEN_AI_REQUEST_MODEL: "gpt-4o"}


def _add(inst: Instruments, spec: c.MetricSpec, value: float) -> None:
    """One counter add with DIMS, on the per-call path (a Series and a prebuilt key)."""
    inst.series_add(inst.series(DIMS), [(inst.key(spec), value)])


Points = dict[tuple[tuple[str, Any], ...], float]


def _collect(reader: InMemoryMetricReader) -> dict[str, Points]:
    """One collection: metric name -> sorted attribute items -> counter value."""
    out: dict[str, Points] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                assert m.name != HANDOVER_GAUGE, "the hand-over gauge must export nothing"
                for p in m.data.data_points:
                    out.setdefault(m.name, {})[tuple(sorted(p.attributes.items()))] = p.value
    return out


def _sums(reader: InMemoryMetricReader, name: str) -> Points:
    return _collect(reader).get(name, {})


def _reader() -> InMemoryMetricReader:
    """Delta counters, as the Azure Monitor metric exporter asks for."""
    delta = AggregationTemporality.DELTA
    return InMemoryMetricReader(preferred_temporality={Counter: delta, Histogram: delta})


def _provider(*readers: InMemoryMetricReader) -> MeterProvider:
    return MeterProvider(metric_readers=list(readers))


def test_sums_land_in_the_collection_that_follows_them() -> None:
    """Pins the SDK order the tally relies on: callbacks run before synchronous instruments are
    read. If an OpenTelemetry release changes it, this fails (sums would arrive one interval
    late, and the last one would be lost at shutdown)."""
    reader = _reader()
    inst = Instruments(_provider(reader))
    for _ in range(3):
        _add(inst, c.COST, 0.25)
    inst.series_add(inst.series(DIMS), [(inst.bucket_key(c.DURATION_BUCKET_COUNTS, 0.3), 1.0)])
    got = _collect(reader)  # one collection holds both
    assert got[c.COST.name] == {tuple(sorted(DIMS.items())): 0.75}
    [(attrs, n)] = got[c.DURATION_BUCKET_COUNTS.name].items()
    assert n == 1 and dict(attrs)[c.ATTR_BUCKET_LE] == c.bucket_label(0.5)
    assert _sums(reader, c.COST.name) == {}  # delta: nothing new, no zero point either
    assert len(inst.tally) == 0


def test_every_reader_sees_every_sum() -> None:
    first, second = _reader(), _reader()
    inst = Instruments(_provider(first, second))
    _add(inst, c.COST, 1.5)
    assert sum(_sums(first, c.COST.name).values()) == 1.5  # drains into both storages
    _add(inst, c.COST, 2.0)
    assert sum(_sums(second, c.COST.name).values()) == 3.5  # both adds, none lost
    assert sum(_sums(first, c.COST.name).values()) == 2.0


def test_counts_from_many_threads_sum_to_the_exact_total() -> None:
    reader = _reader()
    inst = Instruments(_provider(reader))
    seen = 0.0

    def work() -> None:
        for _ in range(2_000):
            _add(inst, c.REFUSALS, 1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for _ in range(20):  # collections racing the adds
        seen += sum(_sums(reader, c.REFUSALS.name).values())
    for t in threads:
        t.join()
    seen += sum(_sums(reader, c.REFUSALS.name).values())
    assert seen == 16_000


def test_changing_providers_hands_pending_sums_to_the_old_counters() -> None:
    old_reader, new_reader = _reader(), _reader()
    _state.reset()
    try:
        _state.use_providers(meter_provider=_provider(old_reader))
        _add(_state.instruments(), c.COST, 0.5)
        _state.use_providers(meter_provider=_provider(new_reader))
        assert sum(_sums(old_reader, c.COST.name).values()) == 0.5
        assert _sums(new_reader, c.COST.name) == {}
    finally:
        _state.reset()


def test_a_failing_counter_keeps_the_other_sums_and_is_counted() -> None:
    reader = _reader()
    _state.reset()
    try:
        _state.use_providers(meter_provider=_provider(reader))
        inst = _state.instruments()

        class Broken:
            def add(self, *_: Any) -> None:
                raise RuntimeError("exporter bug")

        inst.tally.add(Broken(), 1, DIMS)
        _add(inst, c.COST, 0.5)
        assert sum(_sums(reader, c.COST.name).values()) == 0.5
        errors = _sums(reader, c.SDK_ERRORS.name)  # reported during that drain: next one
        assert [dict(k)[c.ATTR_SDK_COMPONENT] for k in errors] == ["metrics.tally_drain"]
    finally:
        _state.reset()


def test_a_second_set_of_instruments_on_the_same_provider_still_exports() -> None:
    """OpenTelemetry ignores a duplicate instrument's callbacks: the sums must still drain."""
    reader = _reader()
    provider = _provider(reader)
    Instruments(provider)
    again = Instruments(provider)  # e.g. providers re-set to the same global one
    _add(again, c.COST, 1.0)
    assert sum(_sums(reader, c.COST.name).values()) == 1.0
