"""Medians, spreads and paired differences of benchmark values (seconds per call)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    median: float
    low: float  # 25th percentile
    high: float  # 75th percentile
    n: int


def summary(values: Sequence[float]) -> Summary:
    """Median and interquartile range (the spread reported everywhere)."""
    vals = sorted(values)
    if not vals:
        raise ValueError("no values")
    if len(vals) == 1:
        return Summary(vals[0], vals[0], vals[0], 1)
    q = statistics.quantiles(vals, n=4, method="inclusive")
    return Summary(statistics.median(vals), q[0], q[2], len(vals))


def paired(rounds_a: Sequence[Sequence[float]], rounds_b: Sequence[Sequence[float]]) -> Summary:
    """a - b per round (medians of each round's values), summarised over rounds.

    Configurations run interleaved, round by round, so a load change on the machine shifts both
    sides of one round alike; differencing within a round cancels most of it.
    """
    diffs = [
        statistics.median(a) - statistics.median(b)
        for a, b in zip(rounds_a, rounds_b, strict=True)
        if a and b
    ]
    return summary(diffs)


def paired_least(
    rounds_a: Sequence[Sequence[float]], rounds_b: Sequence[Sequence[float]]
) -> Summary:
    """a - b per round (the least of each round's values), summarised over rounds.

    For CPU time: whatever else the machine does (another process, an interrupt, a cache it
    evicts) only adds to a value, never takes away, so a process's least value is the closest
    to the cost of its calls alone, and it moves far less from process to process than the
    median does. Each value spans enough calls that the collector's regular work is inside it.
    """
    diffs = [min(a) - min(b) for a, b in zip(rounds_a, rounds_b, strict=True) if a and b]
    return summary(diffs)


def ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None
