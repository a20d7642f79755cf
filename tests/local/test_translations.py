"""KQL translations kept across stores and runs: a hit gives the same SQL, a pinned ``now`` is
filled per query, failures are never kept, a bad cache entry is translated anew."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb_kql
import pytest

from llm_insights_kit.errors import KitError
from llm_insights_kit.local import translations
from llm_insights_kit.local.store import LocalStore

QUERY = "print n = 41 + 1, at = now()"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty disk cache of the test's own and an empty memory; counts real translations."""
    monkeypatch.setenv(translations.CACHE_ENV, str(tmp_path / "kql"))
    monkeypatch.setattr(translations, "_memory", type(translations._memory)())
    calls: list[str] = []
    real = duckdb_kql.to_sql

    def counting(kql, **kwargs):
        calls.append(kql)
        return real(kql, **kwargs)

    monkeypatch.setattr(duckdb_kql, "to_sql", counting)
    return tmp_path / "kql", calls


def _forget_memory(monkeypatch) -> None:
    monkeypatch.setattr(translations, "_memory", type(translations._memory)())


def test_a_query_is_translated_once_across_stores_and_processes(cache, monkeypatch):
    directory, calls = cache
    first, second = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    with LocalStore(":memory:") as store:
        assert store.query(QUERY, now=first).to_dicts()[0]["at"] == first
    assert calls == [QUERY] and len(list(directory.glob("*.json"))) == 1
    with LocalStore(":memory:") as store:  # another store in this process: memory
        assert store.query(QUERY, now=second).to_dicts()[0] == {"n": 42, "at": second}
    _forget_memory(monkeypatch)  # as a new process would start: the disk
    with LocalStore(":memory:") as store:
        assert store.query(QUERY, now=first).to_dicts()[0] == {"n": 42, "at": first}
    assert calls == [QUERY]
    # the pinned clock's value at translation time is not what is kept
    (entry,) = directory.glob("*.json")
    assert json.loads(entry.read_text())["parameters"] == {"kqlnow": {"value": None}}


def test_an_unpinned_query_and_a_pinned_one_are_kept_apart(cache):
    _, calls = cache
    with LocalStore(":memory:") as store:
        store.query(QUERY)
        store.query(QUERY, now=datetime(2026, 1, 1, tzinfo=UTC))
        store.query(QUERY)
    assert calls == [QUERY, QUERY]


def test_a_query_that_fails_to_translate_fails_every_time_and_is_not_kept(cache):
    directory, calls = cache
    with LocalStore(":memory:") as store:
        for _ in range(2):
            with pytest.raises(KitError):
                store.query("requests | summarize count( by")
    assert len(calls) == 2 and not list(directory.glob("*.json"))


def test_a_corrupt_entry_is_translated_anew(cache, monkeypatch):
    directory, calls = cache
    with LocalStore(":memory:") as store:
        store.query(QUERY)
    (entry,) = directory.glob("*.json")
    entry.write_text("{not json")
    _forget_memory(monkeypatch)
    with LocalStore(":memory:") as store:
        assert store.query(QUERY).to_dicts()[0]["n"] == 42
    assert len(calls) == 2
    assert json.loads(entry.read_text())["sql"]  # written again


def test_off_keeps_nothing_on_disk(cache, monkeypatch):
    directory, calls = cache
    monkeypatch.setenv(translations.CACHE_ENV, "off")
    assert translations.cache_dir() is None
    with LocalStore(":memory:") as store:
        store.query(QUERY)
    assert not directory.exists() and calls == [QUERY]


def test_an_unwritable_cache_directory_costs_only_the_cache(cache, monkeypatch, tmp_path):
    _, calls = cache
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(translations.CACHE_ENV, str(blocker / "kql"))
    with LocalStore(":memory:") as store:
        assert store.query(QUERY).to_dicts()[0]["n"] == 42
    assert calls == [QUERY]


def test_the_disk_keeps_a_bounded_number_of_entries(cache, monkeypatch):
    directory, _ = cache
    monkeypatch.setattr(translations, "DISK_ENTRIES", 4)
    monkeypatch.setattr(translations, "_pruned", set())
    with LocalStore(":memory:") as store:
        for n in range(6):
            store.query(f"print n = {n}")
    monkeypatch.setattr(translations, "_pruned", set())  # a new process prunes once
    with LocalStore(":memory:") as store:
        store.query("print n = 99")
    assert len(list(directory.glob("*.json"))) <= 4


def test_a_failed_write_leaves_no_partial_file(cache, monkeypatch):
    directory, calls = cache
    real = translations.Path.write_text

    def disk_full(self, data, *args, **kwargs):
        real(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(translations.Path, "write_text", disk_full)
    with LocalStore(":memory:") as store:
        assert store.query(QUERY).to_dicts()[0]["n"] == 42
    assert calls == [QUERY] and list(directory.iterdir()) == []
