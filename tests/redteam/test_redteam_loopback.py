"""Local means local: only requests that name this server are served (DNS rebinding), browsers
cannot post to it (cross-site), its files are its user's only, every loopback spelling binds,
and a mistake at start-up leaves nothing behind and names its real cause."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from support.process import wait_for_line

from llm_insights_kit.cli import main
from llm_insights_kit.commands.serve import is_loopback
from llm_insights_kit.local.ingest import IngestServer
from llm_insights_kit.local.remote import ServeNote, open_reader, serve_note_path
from llm_insights_kit.local.store import LocalStore

from .conftest import TRACK, post, raw_exchange, request_envelope

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "llm_insights_kit.cli"]


def _request(server: IngestServer, method: str, host: str, extra: str = "", body: bytes = b""):
    head = f"{method} {TRACK if method == 'POST' else '/health'} HTTP/1.1\r\nHost: {host}\r\n"
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
    return raw_exchange(server, head.encode() + body)


@pytest.mark.parametrize("host", ["evil.example:{port}", "attacker.test", "127.0.0.1:1"])
def test_a_host_that_is_not_this_server_is_refused(server, store, host) -> None:
    host = host.format(port=server.port)
    body = b'[{"time": "2026-01-01T00:00:00Z", "data": {"baseType": "EventData", '
    body += b'"baseData": {"name": "rebound"}}}]'
    assert _request(server, "GET", host).startswith(b"HTTP/1.1 403")
    assert _request(server, "POST", host, body=body).startswith(b"HTTP/1.1 403")
    assert store.count("customEvents") == 0


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_the_bound_address_and_localhost_are_served(server, host) -> None:
    assert _request(server, "GET", host.format(port=server.port)).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost:1"])
def test_a_cross_origin_browser_post_is_refused(server, store, origin) -> None:
    """What any web page can send without a preflight: a text/plain POST."""
    headers = {"Origin": origin, "Content-Type": "text/plain"}
    status, answer = post(server, [request_envelope("csrf")], headers)
    assert status == 403 and "Origin" in answer["error"]
    assert store.count("requests") == 0


def test_same_origin_and_origin_less_posts_are_served(server, store) -> None:
    assert post(server, [request_envelope("a")], {"Origin": server.url})[0] == 200
    assert post(server, [request_envelope("b")])[0] == 200
    assert store.count("requests") == 2


def test_note_replaces_a_stale_world_readable_note(tmp_path) -> None:
    db = tmp_path / "t.duckdb"
    stale = serve_note_path(db)
    stale.write_text('{"pid": 1, "url": "http://127.0.0.1:1", "token": "old"}')
    stale.chmod(0o644)
    ServeNote(os.getpid(), "http://127.0.0.1:2", "new").write(db)
    assert stat.S_IMODE(stale.stat().st_mode) == 0o600
    assert ServeNote.read(db) == ServeNote(os.getpid(), "http://127.0.0.1:2", "new")
    assert [p.name for p in tmp_path.iterdir()] == [stale.name]  # no temporary left


def test_note_never_writes_through_a_symlink(tmp_path) -> None:
    db = tmp_path / "t.duckdb"
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    serve_note_path(db).symlink_to(target)
    note = ServeNote(os.getpid(), "http://127.0.0.1:2", "secret-token")
    note.write(db)
    assert target.read_text() == "precious"
    assert not serve_note_path(db).is_symlink()
    assert stat.S_IMODE(serve_note_path(db).stat().st_mode) == 0o600
    note.remove(db)
    assert not serve_note_path(db).exists() and target.read_text() == "precious"


def test_a_new_store_file_is_readable_by_its_owner_only(tmp_path) -> None:
    old = os.umask(0o022)
    try:
        with LocalStore(tmp_path / "new.duckdb") as store:
            store.insert("requests", [{"name": "x"}])
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.duckdb").stat().st_mode) == 0o600


def test_no_temporary_file_is_written_for_a_batch(server, store, monkeypatch) -> None:
    """A kill -9 mid-write cannot leave a copy of the telemetry in /tmp: there is none."""

    def refuse(*args, **kwargs):
        raise AssertionError("a temporary file was created")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    assert post(server, [request_envelope(f"t{i}") for i in range(50)])[0] == 200
    assert store.count("requests") == 50


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.1", "127.0.0.2", "::1", "[::1]"])
def test_every_loopback_spelling_is_loopback(host) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.com", "127.0.0.1.evil"])
def test_other_addresses_are_not(host) -> None:
    assert not is_loopback(host)


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("host", ["127.1", "::1"])
def test_serve_binds_loopback_spellings_without_warning(tmp_path, host) -> None:
    if host == "::1" and not _ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")
    process = subprocess.Popen(
        [*CLI, "serve", "--db", str(tmp_path / "t.duckdb"), "--port", "0", "--host", host],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = wait_for_line(process, r"LLM_INSIGHTS_LOCAL_ENDPOINT=(\S+)").group(1)
        import urllib.request

        port = url.rsplit(":", 1)[1]
        bound = "http://127.0.0.1" if host == "127.1" else "http://[::1]"
        for base in (url, f"{bound}:{port}", f"http://localhost:{port}"):
            if "localhost" in base and host == "::1":
                continue  # localhost may resolve to 127.0.0.1 only
            with urllib.request.urlopen(base + "/health", timeout=30) as response:
                assert response.status == 200, base
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert "warning" not in err, err


def test_busy_port_creates_no_store(tmp_path, capsys) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        db = tmp_path / "x.duckdb"
        assert main(["serve", "--db", str(db), "--port", str(port)]) == 2
    assert f"--port {port}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unknown_stack_creates_no_store_and_lists_the_stacks(tmp_path, capsys) -> None:
    db = tmp_path / "sub" / "x.duckdb"
    assert main(["serve", "--db", str(db), "--port", "0", "--stack", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "--stack nosuch" in err
    assert re.search(r"stacks here: .*\bdev\b.*\bprod\b", err), err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # two serve processes start (~10 s each on a busy machine)
def test_a_store_held_by_serve_names_it_and_a_killed_serve_is_replaced(tmp_path, capsys) -> None:
    db = tmp_path / "t.duckdb"

    def start() -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [*CLI, "serve", "--db", str(db), "--port", "0", "--quiet"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        return process, wait_for_line(process, r"open (http://\S+)/$").group(1)

    first, url = start()
    try:
        assert main(["serve", "--db", str(db), "--port", "0"]) == 2
        err = capsys.readouterr().err
        assert f"`llm-insights serve` (pid {first.pid}, {url}) is serving this store" in err
        assert "not a running serve" not in err
    finally:
        first.kill()  # kill -9: the note stays behind, stale
        first.wait(30)
    assert ServeNote.read(db) is not None and ServeNote.read(db).pid == first.pid
    with open_reader(db) as reader:  # the stale note does not fool a reader
        assert isinstance(reader, LocalStore)
    second, _ = start()
    try:
        note = ServeNote.read(db)
        assert note is not None and note.pid == second.pid
        assert stat.S_IMODE(serve_note_path(db).stat().st_mode) == 0o600
    finally:
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=60)
    assert not serve_note_path(db).exists()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
