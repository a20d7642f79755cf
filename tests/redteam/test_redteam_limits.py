"""Bodies, connections and time are bounded: oversize and bombs refused, lying lengths refused,
trickled requests cut off, too many connections answered 503, a real listen backlog, and every
malformed body answered rather than dropped."""

from __future__ import annotations

import gzip
import json
import socket
import socketserver
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from llm_insights_kit.local.connections import LISTEN_BACKLOG
from llm_insights_kit.local.ingest import IngestServer
from llm_insights_kit.local.track_body import inflate

from .conftest import TRACK, post, raw_exchange, request_envelope

CAP = 1024 * 1024


@pytest.fixture
def small(store):
    with IngestServer(store, max_body_bytes=CAP, request_timeout_s=1.0, idle_timeout_s=1.0) as s:
        yield s


def test_gzip_bomb_is_refused_at_the_decompressed_cap(small, store) -> None:
    bomb = gzip.compress(b"[" + b" " * (64 * CAP) + b"]", 9)  # 64 MiB inflated, ~64 KB sent
    assert len(bomb) < CAP
    status, answer = post(small, bomb, {"Content-Encoding": "gzip"})
    assert status == 413, answer
    assert "decompressed" in answer["errors"][0]["message"]
    assert store.count("requests") == 0


def test_inflate_never_produces_more_than_the_cap() -> None:
    produced = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self, *a):
            self._d = real(*a)

        def decompress(self, data, max_length=0):
            out = self._d.decompress(data, max_length)
            produced.append(len(out))
            return out

        def __getattr__(self, name):
            return getattr(self._d, name)

    bomb = zlib.compress(b"\0" * (32 * CAP))
    zlib_decompressobj, zlib.decompressobj = zlib.decompressobj, Counting
    try:
        with pytest.raises(ValueError, match="decompressed"):
            inflate(bomb, "deflate", CAP)
    finally:
        zlib.decompressobj = zlib_decompressobj
    assert sum(produced) <= CAP + 1


def test_deflate_and_gzip_multi_member_bodies_decode(small, store) -> None:
    body = json.dumps([request_envelope("d")]).encode()
    assert post(small, zlib.compress(body), {"Content-Encoding": "deflate"})[0] == 200
    two = json.dumps([request_envelope("g")]).encode()
    members = gzip.compress(two[:10]) + gzip.compress(two[10:])
    assert post(small, members, {"Content-Encoding": "gzip"})[0] == 200
    assert store.count("requests") == 2


def test_plain_body_over_the_cap_is_413_unread(small) -> None:
    head = f"POST {TRACK} HTTP/1.1\r\nHost: {small.host}:{small.port}\r\n"
    answer = raw_exchange(small, (head + f"Content-Length: {CAP + 1}\r\n\r\n").encode())
    assert answer.startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize(
    ("length_header", "status"),
    [
        ("Content-Length: -1\r\n", b"400"),
        ("Content-Length: 12abc\r\n", b"400"),
        ("Content-Length: 5\r\nContent-Length: 6\r\n", b"400"),
        ("", b"411"),
    ],
)
def test_negative_missing_or_bogus_content_length_is_refused(small, length_header, status):
    head = f"POST {TRACK} HTTP/1.1\r\nHost: {small.host}:{small.port}\r\n{length_header}\r\n"
    answer = raw_exchange(small, head.encode() + b"[" + b" " * 5000 + b"]")
    assert answer.split(b" ")[1] == status, answer[:200]


def test_content_length_longer_than_the_body_times_out_with_408(small) -> None:
    head = (
        f"POST {TRACK} HTTP/1.1\r\nHost: {small.host}:{small.port}\r\nContent-Length: 100\r\n\r\n"
    )
    answer = raw_exchange(small, head.encode() + b"[]", timeout=20)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_a_trickling_client_is_cut_off_at_the_request_deadline(small) -> None:
    """One byte at a time, each well inside the idle timeout: the request deadline still ends it."""
    with socket.create_connection((small.host, small.port), timeout=20) as sock:
        closed = False
        for byte in b"POST /v2.1/track HTTP/1.1\r\nX-Slow: " + b"a" * 400:
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(1, socket.MSG_DONTWAIT) == b"":
                    closed = True
                    break
            except BlockingIOError:
                pass
            except OSError:
                closed = True
                break
            threading.Event().wait(0.05)
        assert closed, "the server kept a trickling request open past its deadline"


def test_connections_over_the_cap_get_503_and_the_rest_are_served(store) -> None:
    with IngestServer(store, max_connections=4, idle_timeout_s=5.0) as srv:
        idle = [socket.create_connection((srv.host, srv.port), timeout=10) for _ in range(4)]
        try:
            threading.Event().wait(0.3)  # let the server hand all four to handler threads
            answer = raw_exchange(srv, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", timeout=10)
            assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
            assert b"Retry-After" in answer
        finally:
            for sock in idle:
                sock.close()
        # the slots come back once those connections close
        for _ in range(50):
            if post(srv, [request_envelope("after")])[0] == 200:
                break
            threading.Event().wait(0.1)
        assert store.count("requests") == 1
        assert srv.stats.refused_connections >= 1


def test_many_simultaneous_posts_are_all_answered(server, store) -> None:
    """200 clients at once: none is reset by a full listen queue (socketserver's is 5)."""
    assert server._httpd.request_queue_size == LISTEN_BACKLOG >= 128

    def one(i: int) -> int:
        return post(server, [request_envelope(f"c{i}")], timeout=60)[0]

    with ThreadPoolExecutor(max_workers=200) as pool:
        statuses = list(pool.map(one, range(200)))
    assert set(statuses) <= {200, 503}
    assert store.count("requests") == statuses.count(200)


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'[{"data": ' * 50_000 + b"1" + b"}]" * 50_000],
    ids=["100k-deep array", "50k-deep objects"],
)
def test_deeply_nested_json_is_answered_400(server, body) -> None:
    status, answer = post(server, body)
    assert status == 400
    assert "nested" in answer["errors"][0]["message"]


def test_huge_integer_is_a_per_item_error_not_a_dropped_connection(server, store) -> None:
    bad = json.dumps(request_envelope("bad")).replace('"ver": 2', '"ver": ' + "7" * 5000)
    body = "[" + bad + "," + json.dumps(request_envelope("good")) + "]"
    status, answer = post(server, body)
    # ver is not a column: the number is unused, the item stored (Azure ignores unknown fields)
    assert status == 200, answer
    bad = json.dumps(request_envelope("bad")).replace('"0.00:00:00.250000"', "7" * 5000)
    status, answer = post(server, "[" + bad + "]")
    assert status == 400 and answer["errors"][0]["index"] == 0
    assert "duration" in answer["errors"][0]["message"]


def test_each_response_leaves_in_one_write(server, monkeypatch) -> None:
    """Headers and body written separately make a keep-alive client wait for a delayed ACK."""
    writes: list[int] = []
    real = socketserver._SocketWriter.write

    def counting(self, data):
        writes.append(len(data))
        return real(self, data)

    monkeypatch.setattr(socketserver._SocketWriter, "write", counting)
    assert post(server, [request_envelope()])[0] == 200
    assert len(writes) == 1
    assert server._httpd.RequestHandlerClass.disable_nagle_algorithm is True
