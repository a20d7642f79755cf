"""Times and time ranges as every command reads them: one grammar, one set of messages.

A time is ISO 8601 (``2026-03-01T12:00:00Z``; without an offset it is UTC; more than six
fraction digits, as .NET writes, are cut to microseconds) or ``now``. A duration is the short
compound form of :func:`parse_short_duration` (``90s``, ``30m``, ``1h30m``,
``7d``). A range is bounded: a local store keeps no more than the stack's workspace would
(``workspace.retentionInDays``), so a longer range asks for data no workspace holds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .errors import KitError

TIME_EXAMPLE = "an ISO 8601 time such as 2026-03-01T12:00:00Z"
DURATION_EXAMPLE = "a duration such as 30m, 1h, 1h30m or 7d (units d, h, m, s)"
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_SHORT_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_SHORT_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


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
    try:
        return timedelta(seconds=sign * seconds)
    except OverflowError:
        return None


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


def parse_iso_time(text: str) -> datetime | None:
    """ISO 8601 → an aware UTC datetime (no offset: UTC); None when *text* is not one."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", text))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def cli_time(text: str, option: str, *, now: datetime | None = None) -> datetime:
    """An option's time: ISO 8601 or ``now``; a ``KitError`` naming the option otherwise."""
    if text.strip() == "now":
        return (now or datetime.now(UTC)).replace(microsecond=0)
    moment = parse_iso_time(text)
    if moment is None:
        raise KitError(f"{option} {text}", f"expected {TIME_EXAMPLE}, or now")
    return moment


def cli_duration(text: str, option: str, *, longest: timedelta | None = None) -> timedelta:
    """An option's positive duration (compound forms too), at most *longest*."""
    delta = parse_short_duration(text)
    if delta is None or delta <= timedelta(0):
        raise KitError(f"{option} {text}", f"expected {DURATION_EXAMPLE}")
    if longest is not None and delta > longest:
        raise KitError(
            f"{option} {text}",
            f"longer than {format_short_duration(longest)}, the stack's workspace retention "
            "(workspace.retentionInDays): no workspace holds data that old",
        )
    return delta


def time_or_before(text: str, option: str, at: datetime, *, longest: timedelta) -> datetime:
    """An ISO 8601 time, or a duration before *at* (``1h30m`` = 90 minutes before it)."""
    if parse_short_duration(text) is not None:
        return at - cli_duration(text, option, longest=longest)
    moment = parse_iso_time(text)
    if moment is None:
        raise KitError(f"{option} {text}", f"expected {TIME_EXAMPLE}, or {DURATION_EXAMPLE}")
    check_range(moment, at, option, longest=longest)
    return moment


def check_range(start: datetime, end: datetime, option: str, *, longest: timedelta) -> None:
    """A range that ends after it starts and spans at most *longest*."""
    if end <= start:
        raise KitError(option, f"{start.isoformat()} is not before {end.isoformat()}")
    if end - start > longest:
        raise KitError(
            option,
            f"{start.isoformat()} to {end.isoformat()} spans "
            f"{format_short_duration(end - start)}: longer than {format_short_duration(longest)}, "
            "the stack's workspace retention (workspace.retentionInDays)",
        )
