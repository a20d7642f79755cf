"""Azure OpenAI content safety: filter results on prompts and completions, and blocked prompts.

Sources: ``prompt_filter_results[].content_filter_results`` (response or first stream chunk),
``choices[].content_filter_results`` (completion), ``finish_reason == "content_filter"``, and the
HTTP 400 error with ``code == "content_filter"`` whose ``innererror.content_filter_result`` names
the category. A *hit* is a category at ``low`` severity or above, or one that filtered or was
detected (jailbreak, protected material); one call counts each (source, category) once, at its
highest severity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import contract as c
from ._fields import get

#: The finish reason of a completion the content filter stopped.
CONTENT_FILTER_REASON = "content_filter"
_RANK = {"safe": 0, "unknown": 1, "low": 2, "medium": 3, "high": 4}


class FilterHits:
    """The worst result per (source, category) seen during one call."""

    def __init__(self) -> None:
        self.hits: dict[tuple[str, str], tuple[str, bool]] = {}

    def add_results(self, source: str, results: Any) -> None:
        if results is None:
            return
        if not isinstance(results, Mapping):
            try:
                results = dict(results.model_dump()) if hasattr(results, "model_dump") else {}
            except Exception:
                return
        for category, result in results.items():
            if not isinstance(result, Mapping) and hasattr(result, "model_dump"):
                result = result.model_dump()
            if not isinstance(result, Mapping):
                continue
            filtered = result.get("filtered") is True
            detected = result.get("detected") is True
            severity = result.get("severity")
            if not isinstance(severity, str) or severity.lower() not in _RANK:
                severity = "unknown"
            severity = severity.lower()
            if not (filtered or detected or _RANK[severity] >= _RANK["low"]):
                continue
            key = (source, str(category))
            old = self.hits.get(key)
            if old is not None:
                severity = severity if _RANK[severity] >= _RANK[old[0]] else old[0]
                filtered = filtered or old[1]
            self.hits[key] = (severity, filtered)

    def add_prompt_filter_results(self, value: Any) -> None:
        if isinstance(value, (list, tuple)):
            for item in value:
                self.add_results(c.FILTER_SOURCE_PROMPT, get(item, "content_filter_results"))

    def add_finish_reason(self, reason: Any) -> None:
        """``finish_reason == "content_filter"`` with no category reported still counts once."""
        if reason == CONTENT_FILTER_REASON and not any(
            src == c.FILTER_SOURCE_COMPLETION and f for (src, _), (_, f) in self.hits.items()
        ):
            self.hits[(c.FILTER_SOURCE_COMPLETION, "unknown")] = ("unknown", True)

    def add_error_body(self, body: Any) -> bool:
        """Read a 400 error body; True when it is a content-filter block."""
        if not isinstance(body, Mapping):
            return False
        err = body.get("error", body)
        if not isinstance(err, Mapping) or err.get("code") != "content_filter":
            return False
        inner = err.get("innererror")
        results = inner.get("content_filter_result") if isinstance(inner, Mapping) else None
        before = len(self.hits)
        self.add_results(c.FILTER_SOURCE_PROMPT, results)
        if len(self.hits) == before:
            self.hits[(c.FILTER_SOURCE_PROMPT, "unknown")] = ("unknown", True)
        return True

    def items(self) -> list[dict[str, str]]:
        return [
            {
                c.ATTR_FILTER_SOURCE: src,
                c.ATTR_FILTER_CATEGORY: cat,
                c.ATTR_FILTER_SEVERITY: sev,
                c.ATTR_FILTER_FILTERED: "true" if filtered else "false",
            }
            for (src, cat), (sev, filtered) in sorted(self.hits.items())
        ]
