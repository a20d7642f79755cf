"""The query API and pages read, never write: every control command and file access is refused
with one clear error, rows stay, no file appears; queries are bounded in rows and time and do
not hold ingestion up."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from llm_insights_kit.errors import KitError
from llm_insights_kit.local import translations
from llm_insights_kit.local.ingest import IngestServer
from llm_insights_kit.local.live import LiveSite
from llm_insights_kit.local.remote import QUERY_PATH, TOKEN_HEADER, RemoteStore, ServeNote
from llm_insights_kit.local.store import READ_ONLY, LocalStore

from .conftest import post, request_envelope

TOKEN = "t0ken"


def _commands(tmp: Path) -> dict[str, str]:
    return {
        "set-or-replace": ".set-or-replace requests <| requests | take 0",
        "set": ".set newtable <| print 1",
        "set-or-append": ".set-or-append requests <| requests",
        "append": ".append requests <| requests",
        "create database persist": f'.create database evil persist (@"{tmp}/made.duckdb")',
        "create table": ".create table t (x: string)",
        "attach": f'.attach database "{tmp}/other.duckdb"',
        "drop table": ".drop table requests",
        "drop database": ".drop database evil",
        "ingest": f'.ingest into table requests (@"{tmp}/rows.csv")',
        "show (control commands are not queries)": ".show tables",
        "after a comment": "// harmless\n.set-or-replace requests <| requests | take 0",
    }


@pytest.fixture
def served(store: LocalStore, tmp_path: Path):
    site = LiveSite(store, [], [], stack="dev", token=TOKEN, store_label="t")
    with IngestServer(store, site=site) as server:
        assert post(server, [request_envelope("keep")])[0] == 200
        yield server


@pytest.mark.parametrize("name", sorted(_commands(Path("/x"))))
def test_control_command_is_refused_with_one_clear_error(served, store, tmp_path, name) -> None:
    kql = _commands(tmp_path)[name]
    remote = RemoteStore(tmp_path / "store.duckdb", ServeNote(0, served.url, TOKEN))
    with pytest.raises(KitError) as refused:
        remote.query(kql)
    assert refused.value.problem == READ_ONLY
    assert store.count("requests") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.duckdb", "store.duckdb.wal"] or (
        sorted(p.name for p in tmp_path.iterdir()) == ["store.duckdb"]
    )


def test_refusal_does_not_tell_whether_a_path_exists(store, tmp_path) -> None:
    (tmp_path / "exists.duckdb").write_bytes(b"")
    answers = set()
    for name in ("exists.duckdb", "missing.duckdb"):
        with pytest.raises(KitError) as refused:
            store.query(f'.create database e persist (@"{tmp_path / name}")')
        answers.add(refused.value.problem)
    assert answers == {READ_ONLY}


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/*')",
        "COPY requests TO '{tmp}/leak.csv'",
        "ATTACH '{tmp}/other.duckdb' AS o",
        "INSERT INTO requests SELECT * FROM requests",
        "SET enable_external_access = true",
    ],
)
def test_sql_that_escaped_translation_still_cannot_write_or_touch_files(
    store, tmp_path, sql, monkeypatch
):
    """Defence in depth: were the KQL translator (or a tampered translation cache) ever to give
    such SQL, the store refuses it (not a SELECT) or the engine does (file access is off)."""
    escaped = (sql.format(tmp=tmp_path), {})
    monkeypatch.setattr(translations, "cached", lambda *_args: escaped)
    with pytest.raises(KitError) as refused:
        store.query("print 1")
    assert refused.value.problem == READ_ONLY or "disabled by configuration" in str(refused.value)
    assert not (tmp_path / "leak.csv").exists() and not (tmp_path / "other.duckdb").exists()


#: 10^10 rows of a cross join, streamed into a count: long, but no memory to speak of.
RUNAWAY = (
    "range x from 1 to 100000 step 1 | extend k = 1 "
    "| join kind=inner (range y from 1 to 100000 step 1 | extend k = 1) on k | summarize count()"
)


def test_query_timeout_ends_a_runaway_query(store) -> None:
    store.query_timeout_s = 0.5
    with pytest.raises(KitError, match="local query timeout"):
        store.query(RUNAWAY)
    assert store.query("print 1").scalar() == 1  # the store is fine afterwards


def test_row_cap_refuses_a_result_too_large(store) -> None:
    store.row_cap = 10
    assert len(store.query("range x from 1 to 10 step 1")) == 10
    with pytest.raises(KitError, match="more than 10 rows"):
        store.query("range x from 1 to 11 step 1")


def test_a_long_query_does_not_hold_ingestion_up(served, store) -> None:
    store.query_timeout_s = 8
    errors: list[Exception] = []

    def long_query() -> None:
        try:
            store.query(RUNAWAY)
        except KitError as exc:
            errors.append(exc)

    reader = threading.Thread(target=long_query)
    reader.start()
    threading.Event().wait(0.5)  # let it start
    assert reader.is_alive()
    assert post(served, [request_envelope("during")])[0] == 200
    # ingested, and readable, while the long query is still running
    assert reader.is_alive(), "the query ended before ingestion answered: nothing was shown"
    assert store.count("requests") == 2
    reader.join(60)
    assert errors and "timeout" in str(errors[0])


def test_page_range_that_is_not_ascii_digits_is_400(store) -> None:
    from llm_insights_kit.artifacts import RenderContext
    from llm_insights_kit.dashboards import render_workbooks

    site = LiveSite(store, render_workbooks(RenderContext()), [], stack="dev", token=TOKEN,
                    store_label="t")  # fmt: skip
    key = next(iter(site.workbooks))
    reply = site.get(f"/{key}.html", "range=%C2%B2")  # "²": str.isdigit() says yes
    assert reply is not None and reply.status == 400
    assert b"not a time range" in reply.body


def test_query_api_body_errors_are_answered(served) -> None:
    status, answer = post(served, b"[", {TOKEN_HEADER: TOKEN}, path=QUERY_PATH)
    assert status == 400
    status, answer = post(served, json.dumps({"kql": 5}), {TOKEN_HEADER: TOKEN}, path=QUERY_PATH)
    assert status == 400 and "kql must be a string" in json.dumps(answer)
