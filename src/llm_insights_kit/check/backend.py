"""The one query interface ``llm-insights check`` runs every check through, and its local side.

A backend answers ``query(kql, now=, time_range=, name=)`` with a
:class:`~llm_insights_kit.local.store.QueryResult`, raising :class:`KitError` with the engine's
own error text when the query fails. ``time_range`` scopes every table to ``[start, end)`` (the
query time range Azure applies to a workbook step or an alert evaluation) and ``now`` is the
moment ``now()``/``ago()`` mean. Two implementations: the local store (``LocalStore``, or
``RemoteStore`` while ``llm-insights serve`` holds the file — both already answer this call) and
Azure Monitor Logs (:mod:`.azure`). The alert evaluator's ``QueryStore`` is the same call.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol

from ..errors import KitError
from ..local.remote import open_reader
from ..local.store import QueryResult


class QueryBackend(Protocol):
    """Where the checks' queries run (``LocalStore``, ``RemoteStore``, ``AzureLogsBackend``)."""

    def query(
        self,
        kql: str,
        *,
        now: datetime | None = None,
        time_range: tuple[datetime, datetime] | None = None,
        name: str | None = None,
    ) -> QueryResult: ...

    def close(self) -> None: ...


def open_local(db: Path) -> QueryBackend:
    """The local store file, read-only or through the ``serve`` process that holds it."""
    if not Path(db).is_file():
        raise KitError(
            str(db),
            "no local store here; run `llm-insights serve` (and an app) or "
            "`llm-insights demo` first, or pass --db",
        )
    return open_reader(db)
