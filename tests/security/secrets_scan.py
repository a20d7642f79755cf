"""What a leaked secret looks like: the values tests inject, and real-looking credentials."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from llm_insights_kit.local.ingest import LOCAL_IKEY

#: Credential shapes. Placeholders (keys opening with one repeated digit, 00000000-… or
#: 1111…, T0000/B0000 Slack paths, "…fake" PagerDuty keys) do not match; a real key does.
PATTERNS: dict[str, re.Pattern[str]] = {
    "instrumentation key": re.compile(
        r"InstrumentationKey=(?!([0-9a-fA-F])\1{7}-)[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
        r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    ),
    "slack webhook": re.compile(r"hooks\.slack\.com/services/T[A-Z0-9]{8,}/B[A-Z0-9]{8,}/\w{20,}"),
    "pagerduty key": re.compile(r"events\.pagerduty\.com/\S*?[0-9a-f]{32}"),
    "azure shared key": re.compile(r"(?i)sharedkey[\"'=:\s]+[A-Za-z0-9+/]{80,}={0,2}"),
}
ALLOWED_KEYS = {LOCAL_IKEY}


def findings(text: str, injected: Iterable[str] = ()) -> list[str]:
    """Names of the secrets found in *text* (injected test secrets or credential patterns)."""
    out = [f"injected secret {s[:24]}…" for s in injected if s and s in text]
    for name, pattern in PATTERNS.items():
        out += [f"{name}: {m.group(0)[:40]}…" for m in pattern.finditer(text)]
    return out


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, string) for every string inside nested dicts/lists."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from strings(v, f"{path}[{i}]")
