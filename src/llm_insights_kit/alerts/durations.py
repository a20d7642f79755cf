"""Durations in the two spellings the alert tools read.

Rules use ISO 8601 (``PT5M``, ``PT1H``, ``P1D``) because that is what Azure's
``scheduledQueryRules`` API takes; fixtures use the short Prometheus-like form (``5m``, ``1h30m``)
because test authors write many of them (the grammar every command reads: :mod:`..times`).
"""

from __future__ import annotations

import re
from datetime import timedelta

from ..times import format_short_duration, parse_short_duration

_ISO = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_iso_duration(text: str) -> timedelta | None:
    """``PT5M`` → 5 minutes; None when *text* is not a day/time ISO 8601 duration."""
    match = _ISO.match(text.strip()) if isinstance(text, str) else None
    if not match or text.strip() in {"P", "PT"} or text.strip().endswith("T"):
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])


def iso_duration(text: str) -> timedelta:
    """``parse_iso_duration`` for a value already checked against the rule fields' allowed
    durations; ``ValueError`` when it is not one."""
    delta = parse_iso_duration(text)
    if delta is None:
        raise ValueError(text)
    return delta


__all__ = ["format_short_duration", "iso_duration", "parse_iso_duration", "parse_short_duration"]
