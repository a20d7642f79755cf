"""Durations in the two spellings the alert tools read.

Rules use ISO 8601 (``PT5M``, ``PT1H``, ``P1D``) because that is what Azure's
``scheduledQueryRules`` API takes; fixtures use the short Prometheus-like form (``5m``, ``1h30m``)
because test authors write many of them.
"""

from __future__ import annotations

import re
from datetime import timedelta

_ISO = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_SHORT_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_SHORT_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


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


def parse_short_duration(text: object) -> timedelta | None:
    """``1h30m`` → 90 minutes, ``0m`` → 0, ``-5m`` → minus 5 minutes; None when malformed."""
    if isinstance(text, bool) or not isinstance(text, str | int):
        return None
    raw = str(text).strip()
    if raw in {"0", "-0"}:
        return timedelta(0)
    sign = -1.0 if raw.startswith("-") else 1.0
    body = raw.lstrip("+-")
    if not body:
        return None
    seconds = 0.0
    pos = 0
    for match in _SHORT_PART.finditer(body):
        if match.start() != pos:
            return None
        seconds += float(match.group(1)) * _SHORT_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body):
        return None
    return timedelta(seconds=sign * seconds)


def format_short_duration(delta: timedelta) -> str:
    """The inverse of :func:`parse_short_duration` for messages: 5400 s → ``1h30m``."""
    total = delta.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    if total == 0:
        return "0m"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        n, total = divmod(total, size)
        if n:
            out.append(f"{int(n)}{unit}")
    if total:
        out.append(f"{total:g}s")
    return sign + "".join(out)
