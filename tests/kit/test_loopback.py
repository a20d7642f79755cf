"""The kit's loopback servers hold a burst of connections their accept thread has not taken yet:
with ``socketserver``'s backlog of 5, a loaded machine turned a burst of concurrent calls into
reset connections (a client with retries off failed a call the server would have answered)."""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler

from llm_insights_kit.loopback import LoopbackHTTPServer

BURST = 64  # more than a test's or the demo's pool of concurrent clients


def test_a_burst_of_connections_waits_for_accept() -> None:
    server = LoopbackHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)  # never accepting
    clients: list[socket.socket] = []
    try:
        for _ in range(BURST):
            # the kernel completes the handshake while the backlog has room; past it, the SYN
            # is dropped and connect() waits
            clients.append(socket.create_connection(server.server_address, timeout=2))
        assert len(clients) == BURST
    finally:
        for c in clients:
            c.close()
        server.server_close()
