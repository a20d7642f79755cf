"""``llm-insights serve``: prints where to send telemetry, stores it, stops cleanly."""

from __future__ import annotations

import argparse
import gzip
import json
import re
import threading
import urllib.request

import pytest

from llm_insights_kit.cli import main
from llm_insights_kit.commands import serve
from llm_insights_kit.local.store import LocalStore


def _args(**kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    ns = parser.parse_args([])
    for k, v in kw.items():
        setattr(ns, k, v)
    return ns


def test_serve_stores_posted_envelopes_and_prints_env(tmp_path, capsys) -> None:
    db = tmp_path / "t.duckdb"
    stop = threading.Event()
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(serve.run(_args(db=db, port=0, quiet=True), stop=stop))
    )
    worker.start()
    try:
        out = ""
        for _ in range(1200):  # the stack renders first: seconds on a busy machine
            out += capsys.readouterr().out
            if "LLM_INSIGHTS_LOCAL_ENDPOINT=" in out:
                break
            stop.wait(0.05)
        out += capsys.readouterr().out
        url = re.search(r"LLM_INSIGHTS_LOCAL_ENDPOINT=(\S+)", out).group(1)
        assert f"IngestionEndpoint={url}/" in out
        envelope = {
            "time": "2026-01-01T00:00:00Z",
            "data": {"baseType": "EventData", "baseData": {"name": "hello", "ver": 2}},
        }
        request = urllib.request.Request(
            f"{url}/v2.1/track",
            data=gzip.compress(json.dumps([envelope]).encode()),
            headers={"Content-Encoding": "gzip"},
        )
        with urllib.request.urlopen(request, timeout=5) as resp:
            assert json.loads(resp.read())["itemsAccepted"] == 1
    finally:
        stop.set()
        worker.join(10)
    assert result == [0]
    assert "1 items stored" in capsys.readouterr().out
    with LocalStore(db) as store:
        assert store.query("customEvents | project name").rows == [("hello",)]


def test_bad_port_is_a_clear_error(tmp_path, capsys) -> None:
    assert main(["serve", "--db", str(tmp_path / "x.duckdb"), "--port", "70000"]) == 2
    assert "--port: 70000 is not a TCP port" in capsys.readouterr().err


def test_port_in_use_is_a_clear_error(tmp_path, capsys) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["serve", "--db", str(tmp_path / "x.duckdb"), "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


@pytest.mark.parametrize("content", ["not a duckdb file"])
def test_unreadable_db_is_a_clear_error(tmp_path, capsys, content) -> None:
    db = tmp_path / "x.duckdb"
    db.write_text(content)
    assert main(["serve", "--db", str(db), "--port", "0"]) == 2
    assert "cannot open the local store" in capsys.readouterr().err
