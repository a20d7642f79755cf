"""Quality signals computed in process on the completion text; only flags and numbers leave.

Heuristics, deliberately cheap (precompiled regexes, one pass each): a *refusal* is the model
declining; a *hallucination marker* is phrasing that often accompanies unsupported claims
(knowledge-cutoff hedges, invented-looking citations). They are rates to watch, not verdicts;
replace the patterns with ``configure(refusal_patterns=..., hallucination_patterns=...)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

REFUSAL_PATTERNS: tuple[str, ...] = (
    r"\bI(?:'m| am) sorry,? (?:but )?I (?:can(?:'|no)t|cannot|am unable to|won't)\b",
    r"^\s*I (?:can(?:'|no)t|cannot|am unable to|won't) (?:help|assist|provide|comply|do that)",
    r"\bI(?:'m| am) (?:not able|unable) to (?:help|assist|provide|comply)",
    r"\bas an AI(?: language)? model,? I (?:can(?:'|no)t|cannot|don't|do not)",
    r"\bI must (?:decline|refuse)\b",
)
HALLUCINATION_PATTERNS: tuple[str, ...] = (
    r"\bas of my (?:last |latest )?(?:knowledge )?(?:update|cutoff|training)",
    r"\bI (?:don't|do not) have (?:access to )?(?:real-time|current|up-to-date)",
    r"\([A-Z][A-Za-z-]+ et al\.,? (?:19|20)\d{2}\)",
    r"\bI(?:'m| am) not (?:entirely |completely )?(?:sure|certain)\b",
    r"\b(?:I believe|I think|probably|it is likely that)\b.{0,80}\b(?:\d+(?:\.\d+)?%|\d{4})",
)


def compile_patterns(patterns: Iterable[str] | None, default: tuple[str, ...]) -> re.Pattern:
    """One alternation regex (case-insensitive, multiline) from *patterns* or *default*."""
    items = tuple(patterns) if patterns is not None else default
    if not items:
        return re.compile(r"(?!x)x")  # never matches
    return re.compile("|".join(f"(?:{p})" for p in items), re.IGNORECASE | re.MULTILINE)


_DEFAULT_REFUSAL = compile_patterns(None, REFUSAL_PATTERNS)
_DEFAULT_HALLUCINATION = compile_patterns(None, HALLUCINATION_PATTERNS)
_SCAN_CHARS = 20_000  # markers sit near the start; bound the work on huge completions


@dataclass(frozen=True)
class Quality:
    length: int
    refusal: bool
    hallucination_marker: bool


def clean_text(value: Any) -> str | None:
    """*value* as valid text: bytes decoded with replacement, lone surrogates replaced."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def assess(
    text: str, refusal: re.Pattern | None = None, hallucination: re.Pattern | None = None
) -> Quality:
    head = text[:_SCAN_CHARS]
    return Quality(
        length=len(text),
        refusal=bool((refusal or _DEFAULT_REFUSAL).search(head)),
        hallucination_marker=bool((hallucination or _DEFAULT_HALLUCINATION).search(head)),
    )
