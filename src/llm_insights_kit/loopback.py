"""The HTTP server behind the fake OpenAI API on loopback (``serve``'s ingestion endpoint has its
own, with a connection bound: ``local/connections.py``).

``socketserver`` listens with a backlog of 5: a burst of concurrent clients (a pool of callers,
an exporter's threads) on a loaded machine, whose accept thread is not scheduled in time,
overflows it, and the kernel answers the overflow with dropped or reset connections — a client
with retries off then fails a call the server would have answered. The backlog here holds such a
burst (the kernel caps it at ``net.core.somaxconn``).
"""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class LoopbackHTTPServer(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True
