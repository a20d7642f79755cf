"""Quality signals computed in process on the completion text; only flags and numbers leave.

Heuristics, deliberately cheap (precompiled regexes, one pass each): a *refusal* is the model
declining; a *hallucination marker* is phrasing that often accompanies unsupported claims
(knowledge-cutoff hedges, invented-looking citations). They are rates to watch, not verdicts;
replace the patterns with ``configure(refusal_patterns=..., hallucination_patterns=...)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

_APOS = "['\u2019]"  # straight or typographic apostrophe
REFUSAL_PATTERNS: tuple[str, ...] = (
    rf"\bI(?:{_APOS}m| am) sorry,? (?:but )?I (?:can{_APOS}t|cannot|am unable to|won{_APOS}t)\b",
    rf"^\s*I (?:can{_APOS}t|cannot|am unable to|won{_APOS}t) "
    r"(?:help|assist|provide|comply|do that)",
    rf"\bI(?:{_APOS}m| am) (?:not able|unable) to (?:help|assist|provide|comply)",
    rf"\bas an AI(?: language)? model,? I (?:can{_APOS}t|cannot|don{_APOS}t|do not)",
    r"\bI must (?:decline|refuse)\b",
)
HALLUCINATION_PATTERNS: tuple[str, ...] = (
    r"\bas of my (?:last |latest )?(?:knowledge )?(?:update|cutoff|training)",
    rf"\bI (?:don{_APOS}t|do not) have (?:access to )?(?:real-time|current|up-to-date)",
    r"\([A-Z][A-Za-z-]+ et al\.,? (?:19|20)\d{2}\)",
    rf"\bI(?:{_APOS}m| am) not (?:entirely |completely )?(?:sure|certain)\b",
    r"\b(?:I believe|I think|probably|it is likely that)\b.{0,80}\b(?:\d+(?:\.\d+)?%|\d{4})",
)


def compile_patterns(patterns: Iterable[str] | None, default: tuple[str, ...]) -> re.Pattern:
    """One alternation regex (case-insensitive, multiline) from *patterns* or *default*."""
    items = tuple(patterns) if patterns is not None else default
    if not items:
        return re.compile(r"(?!x)x")  # never matches
    return re.compile("|".join(f"(?:{p})" for p in items), re.IGNORECASE | re.MULTILINE)


# Words one of the default patterns needs: when none occurs (most answers), the regexes are
# skipped, which keeps the check to a few microseconds. One search for any of them (literal
# alternatives on the lowered text) answers most calls; each gate is asked only after a hit.
_REFUSAL_GATE = ("sorry", "can't", "can\u2019t", "cannot", "unable", "as an ai", "must decline",
                 "must refuse", "won't", "won\u2019t", "not able")  # fmt: skip
_HALLUCINATION_GATE = ("as of my", "have access", "real-time", "current", "up-to-date",
                       "et al", "not sure", "not certain", "not entirely", "not completely",
                       "i believe", "i think", "probably", "likely")  # fmt: skip


def _words(words: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(re.escape(w) for w in words))


_ANY_GATE = _words(_REFUSAL_GATE + _HALLUCINATION_GATE)
_REFUSAL_WORDS = _words(_REFUSAL_GATE)
_HALLUCINATION_WORDS = _words(_HALLUCINATION_GATE)
_DEFAULT_REFUSAL = compile_patterns(None, REFUSAL_PATTERNS)
_DEFAULT_HALLUCINATION = compile_patterns(None, HALLUCINATION_PATTERNS)
_SCAN_CHARS = 20_000  # markers sit near the start; bound the work on huge completions


class Quality(NamedTuple):
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
    """Flags for *text*; None patterns mean the defaults (gated by cheap keyword checks)."""
    head = text[:_SCAN_CHARS]
    gated = refusal is None or hallucination is None
    lowered = head.lower() if gated else ""
    if gated and _ANY_GATE.search(lowered) is None:  # no default pattern can match
        is_refusal = False if refusal is None else bool(refusal.search(head))
        is_marker = False if hallucination is None else bool(hallucination.search(head))
        return Quality(len(text), is_refusal, is_marker)
    if refusal is None:
        is_refusal = _REFUSAL_WORDS.search(lowered) is not None and bool(
            _DEFAULT_REFUSAL.search(head)
        )
    else:
        is_refusal = bool(refusal.search(head))
    if hallucination is None:
        is_marker = _HALLUCINATION_WORDS.search(lowered) is not None and bool(
            _DEFAULT_HALLUCINATION.search(head)
        )
    else:
        is_marker = bool(hallucination.search(head))
    return Quality(len(text), is_refusal, is_marker)
