"""Connections of the ingestion server, bounded: a real listen backlog, a cap on connections
served at once (one more is answered 503, which the exporter retries), and reads that obey an
idle timeout and a per-request deadline, so a client trickling bytes cannot hold a thread.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

#: Pending connections the kernel queues while every handler is busy (socketserver's is 5).
LISTEN_BACKLOG = 512
#: Connections served at once; one more is answered 503 with Retry-After (the exporter retries).
MAX_CONNECTIONS = 256


class Server(ThreadingHTTPServer):
    """A threading HTTP server with a real listen backlog and a cap on open connections."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        host: str,
        port: int,
        handler: type,
        *,
        max_connections: int = MAX_CONNECTIONS,
        on_refused: Callable[[], None] = lambda: None,
    ) -> None:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        self.address_family = family  # IPv6 for ::1, IPv4 otherwise
        self._slots = threading.BoundedSemaphore(max_connections)
        self._on_refused = on_refused
        super().__init__(address[:2], handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind also resolves a fully qualified name (a DNS lookup): not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._on_refused()
            with contextlib.suppress(OSError):
                request.settimeout(1.0)
                request.sendall(_BUSY)
                # Read what the client already sent: closing with unread bytes sends a reset,
                # which can destroy the 503 before the client reads it.
                with contextlib.suppress(BlockingIOError):
                    request.recv(1 << 20, socket.MSG_DONTWAIT)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


_BUSY_BODY = json.dumps({"error": "too many open connections; retry"}).encode()
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
    b"Content-Type: application/json\r\nContent-Length: "
    + str(len(_BUSY_BODY)).encode()
    + b"\r\n\r\n"
    + _BUSY_BODY
)


class DeadlineReader(io.RawIOBase):
    """The socket as a raw stream whose reads obey two clocks: an idle wait for a request's first
    byte, then one deadline for the whole request, so trickled bytes cannot keep it open."""

    def __init__(self, sock: socket.socket, idle_s: float, request_s: float) -> None:
        self._sock = sock
        self._idle_s = idle_s
        self._request_s = request_s
        self._deadline: float | None = None

    def readable(self) -> bool:
        return True

    def next_request(self) -> None:
        self._deadline = None

    def readinto(self, buffer: Any) -> int:
        if self._deadline is None:
            timeout = self._idle_s
        else:
            timeout = self._deadline - time.monotonic()
            if timeout <= 0:
                raise TimeoutError("request took longer than its deadline")
        self._sock.settimeout(timeout)
        count = self._sock.recv_into(buffer)
        if self._deadline is None and count:
            self._deadline = time.monotonic() + self._request_s
        return count


__all__ = ["LISTEN_BACKLOG", "MAX_CONNECTIONS", "DeadlineReader", "Server"]
