"""KQL → DuckDB SQL translations, kept across stores, commands and runs.

duckdb-kql's ANTLR parser costs 0.1-0.3 s per query, and the kit translates the same queries
over and over: every panel of every workbook for each page ``serve`` renders, each preview and
``check``, every alert rule at each evaluation instant of ``alerts test`` and ``alerts eval``. A
translation depends only on duckdb-kql's version, the tables' schema, the query's text and
whether ``now`` is pinned (a pinned ``now`` is a bound parameter of the SQL, filled per run), so
it is kept:

- in this process, for every store (``MEMORY_ENTRIES`` most recent);
- on disk, one small JSON file per translation in ``LLM_INSIGHTS_KQL_CACHE`` (default
  ``$XDG_CACHE_HOME/llm-insights/kql``, else ``~/.cache/llm-insights/kql``; ``off`` disables
  it), at most ``DISK_ENTRIES`` files, the oldest removed first.

Only successful translations are kept: a query that fails to translate fails again, with its
message, every time. The disk is a cache, never a dependency: an unreadable, unwritable or
corrupt entry is translated anew.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb_kql
from duckdb_kql.translate import CLOCK_SLOT

CACHE_ENV = "LLM_INSIGHTS_KQL_CACHE"
MEMORY_ENTRIES = 2048
DISK_ENTRIES = 20_000
_VERSION = getattr(duckdb_kql, "__version__", "unknown")

Translation = tuple[str, dict[str, Any]]

_memory: OrderedDict[str, Translation] = OrderedDict()
_lock = threading.Lock()
_pruned: set[Path] = set()


def schema_digest(schema: dict[str, Any]) -> str:
    """A store's tables as duckdb-kql sees them, as one short string (part of every key)."""
    text = json.dumps(schema, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_dir() -> Path | None:
    """Where translations are kept on disk, or None when ``LLM_INSIGHTS_KQL_CACHE=off``."""
    setting = os.environ.get(CACHE_ENV, "").strip()
    if setting.lower() in ("off", "0", "false", "no"):
        return None
    if setting:
        return Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "llm-insights" / "kql"


def cached(
    kql: str, schema_key: str, pinned: bool, translate: Callable[[], Translation]
) -> Translation:
    """The translation of *kql* for a store whose schema digest is *schema_key*; *translate*
    makes it on a miss (and raises for a query that does not translate)."""
    key = hashlib.sha256(json.dumps([_VERSION, schema_key, pinned, kql]).encode()).hexdigest()
    with _lock:
        hit = _memory.get(key)
        if hit is not None:
            _memory.move_to_end(key)
            return hit
    directory = cache_dir()
    hit = _read(directory / f"{key}.json") if directory else None
    if hit is None:
        hit = translate()
        if directory:
            _write(directory, key, hit)
    with _lock:
        _memory[key] = hit
        while len(_memory) > MEMORY_ENTRIES:
            _memory.popitem(last=False)
    return hit


# JSON has no datetime or timedelta: parameter values are tagged with their type.
def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, timedelta):
        return {"timedelta": value.total_seconds()}
    if value is None or isinstance(value, str | int | float | bool):
        return {"value": value}
    raise TypeError(type(value).__name__)


def _decode(value: dict[str, Any]) -> Any:
    if "datetime" in value:
        return datetime.fromisoformat(value["datetime"])
    if "timedelta" in value:
        return timedelta(seconds=value["timedelta"])
    return value["value"]


def _read(path: Path) -> Translation | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        params = {name: _decode(v) for name, v in data["parameters"].items()}
        return str(data["sql"]), params
    except Exception:  # missing, unreadable, corrupt or of another layout: translate anew
        return None


def _write(directory: Path, key: str, translation: Translation) -> None:
    sql, params = translation
    try:
        # the pinned clock is filled per run; its value at translation time means nothing
        parameters = {
            name: _encode(None if name == CLOCK_SLOT else value) for name, value in params.items()
        }
    except TypeError:
        return  # a parameter JSON cannot carry: kept in memory only
    tmp = directory / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _prune(directory)
        tmp.write_text(json.dumps({"sql": sql, "parameters": parameters}), encoding="utf-8")
        tmp.replace(directory / f"{key}.json")
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()  # a write cut short (disk full) leaves no partial file behind


def _prune(directory: Path) -> None:
    """Once per process and directory: beyond ``DISK_ENTRIES`` files, remove the oldest."""
    if directory in _pruned:
        return
    _pruned.add(directory)
    files = list(directory.glob("*.json"))
    if len(files) <= DISK_ENTRIES:
        return
    files.sort(key=lambda p: p.stat().st_mtime if p.exists() else 0)
    for old in files[: len(files) - DISK_ENTRIES // 2]:
        with contextlib.suppress(OSError):
            old.unlink()
