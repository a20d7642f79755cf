"""Answers kept per key while the two objects they were derived from stay the same.

Per-call work that depends only on a few names and on replaceable state (the price table and
deployment map for a price choice; the instruments and deployment map for a call's metric
dimensions) is done once per key and kept. ``configure()`` replaces that state rather than
mutating it, so the kept answers are tied to the objects' identity: a new object empties the
map, and an answer derived from the old ones is never stored after that.
"""

from __future__ import annotations

import threading
from typing import Any


class KeptAnswers:
    """At most *limit* answers (emptied when full: a process has a handful of keys), valid
    for one pair of owner objects."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._answers: dict[Any, Any] = {}
        self._owners: tuple[Any, Any] = (None, None)
        self._lock = threading.Lock()

    def get(self, key: Any, first: Any, second: Any) -> Any:
        """The answer kept for *key* derived from *first* and *second*; None when there is none
        (everything kept for other owners is dropped first)."""
        owners = self._owners
        if owners[0] is not first or owners[1] is not second:
            with self._lock:
                self._answers.clear()
                self._owners = (first, second)
        return self._answers.get(key)

    def put(self, key: Any, answer: Any, first: Any, second: Any) -> None:
        """Keep *answer* for *key*, unless the owners were replaced since it was derived."""
        with self._lock:
            owners = self._owners
            if owners[0] is first and owners[1] is second:
                if len(self._answers) >= self._limit:
                    self._answers.clear()
                self._answers[key] = answer
