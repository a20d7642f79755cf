"""Counter adds summed in process and handed to OpenTelemetry once per metric collection.

A synchronous ``Counter.add`` costs the OpenTelemetry SDK a clean-and-hash pass over the
attributes (about 25 µs with six dimensions on a 2-core VM), and one LLM call makes up to six
counter adds (duration and length buckets, input and output cost, quality flags). Summing them
here (one lock per call and a dict update per add, on keys built once per series: see
``Instruments.series``) and adding each series' sum to the same counter when a reader collects
exports the same numbers — same instruments, names, attributes and collection interval — for a
fraction of the cost on the app's thread.

The hand-over runs in the callback of an observable gauge that observes nothing: the SDK runs
instrument callbacks at the start of every collection, before it reads the synchronous
instruments, so the sums land in the collection that triggered them
(``tests/sdk/test_tally.py`` pins that order against the installed SDK). A synchronous add
reaches every reader's storage, so with several readers each one still sees every sum.

There is one tally per process (``TALLY``): OpenTelemetry keeps the first instrument of a name
per meter and ignores a duplicate's callbacks, so a second set of instruments on the same
provider must drain through the first one's gauge. Any collection drains every pending sum, each
into its own counter (and so its own provider).
"""

from __future__ import annotations

import threading
from typing import Any

from ._guard import report

#: The observable gauge whose callback hands the sums over. It observes nothing, so it is never
#: exported and is not a telemetry name: private to the SDK, not in the contract.
HANDOVER_GAUGE = "llm_insights.sdk.tally_handover"

Items = tuple[tuple[str, Any], ...]  # attribute items, in a fixed order
SumKey = tuple[Any, Items]  # (counter, the add's own attribute items): a key of one series' sums
SumAdd = tuple[SumKey, float]  # one counter add of a call: its key and value


class CounterTally:
    """Pending counter sums per series (attribute items shared by a call's adds) and per
    (counter, the add's own extra attribute items)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[Items, dict[SumKey, float]] = {}

    def add(self, counter: Any, value: float, attrs: dict[str, Any]) -> None:
        """Count *value* (finite, >= 0: the caller checked) on *counter* with *attrs* (scalar
        values, already allow-listed and capped: the key stays hashable and bounded)."""
        self.add_all(tuple(attrs.items()), [((counter, ()), value)])

    def add_all(self, items: Items, adds: list[SumAdd]) -> None:
        """Several adds sharing the attribute *items* under one lock (the counter adds of one
        call): each ((counter, extra attribute items), value). Keys are built once by the
        caller (``Instruments``), so an add is a dict update, not a hash of every dimension."""
        with self._lock:
            sums = self._pending.get(items)
            if sums is None:
                sums = self._pending[items] = {}
            for key, value in adds:
                sums[key] = sums.get(key, 0) + value

    def drain(self) -> None:
        """Add every pending sum to its counter (collections, provider changes, tests)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for items, sums in pending.items():
            for (counter, extra), value in sums.items():
                try:
                    counter.add(value, dict(items + extra))
                except Exception as exc:  # one broken instrument never drops the other sums
                    report("metrics.tally_drain", exc)

    def callback(self, _options: Any = None) -> list[Any]:
        """Observable-gauge callback: hand the sums over, observe nothing (exports nothing)."""
        try:
            self.drain()
        except Exception as exc:
            report("metrics.tally_drain", exc)
        return []

    def __len__(self) -> int:
        """Pending sums (series and counter) not yet handed over."""
        return sum(len(sums) for sums in list(self._pending.values()))


TALLY = CounterTally()
