"""The soak's server: ``serve``'s ingestion (the same IngestServer on the same LocalStore file),
without its pages, so a restart takes a second instead of a stack render.

``python soak_server.py DB PORT``; prints ``ready`` once listening, stops on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading

from llm_insights_kit.local.ingest import IngestServer
from llm_insights_kit.local.store import LocalStore

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
with LocalStore(sys.argv[1]) as store, IngestServer(store, port=int(sys.argv[2])) as server:
    print("ready", flush=True)
    stop.wait()
