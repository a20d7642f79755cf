"""Work an LLM call's caller need not wait for, done on one background thread.

When a call finishes, its caller (the app's request thread) only stamps the end time and any
error status; pricing, the quality heuristics, every metric measurement (histograms and bucket
counters), the span's response attributes, evaluator dispatch and the span's end run here, on
the ``llm-insights-emit`` thread, in the order the calls finished. The span keeps the caller's
end time, so its duration is the call's.

Nothing is lost:

- ``llm_insights.flush()`` and ``shutdown()`` drain the queue before exporting (``drain``), and
  so does interpreter exit (an ``atexit`` hook registered when the thread starts, i.e. after the
  providers' own, so it runs before they shut down);
- the queue is bounded (``MAX_QUEUED`` calls, a few KiB each): a call finishing while it is full
  is done on its caller's thread instead (back-pressure, never a silent drop) and counted in
  ``llm_insights.sdk.errors{llm_insights.sdk.component=offload.queue_full}``;
- a job that fails is caught and counted like any SDK failure (``_guard.report``); nothing
  raises into the app;
- after ``os.fork`` the child starts empty (the parent's queued calls are the parent's).

``LLM_INSIGHTS_EMIT_INLINE=1`` does everything on the caller's thread, as before (the benchmark's
``llm_insights_inline`` configuration measures the difference).
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
from collections.abc import Callable

from . import contract as c
from ._guard import count, report

#: Calls waiting at most; a burst beyond it is done on the callers' threads (counted).
MAX_QUEUED = 10_000
INLINE_ENV = "LLM_INSIGHTS_EMIT_INLINE"

_lock = threading.Lock()
_jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
_thread: threading.Thread | None = None
_exit_hook = False
inline = os.environ.get(INLINE_ENV, "").strip().lower() in ("1", "true", "yes")


def _run() -> None:
    get = _jobs.get
    while True:
        job = get()
        try:
            job()
        except Exception as exc:  # a job guards itself; this is the last net
            report("offload.job", exc)


def _start() -> bool:
    global _thread, _exit_hook
    with _lock:
        if _thread is not None and _thread.is_alive():
            return True
        try:
            t = threading.Thread(target=_run, name="llm-insights-emit", daemon=True)
            t.start()
        except Exception as exc:  # e.g. "can't start new thread" at interpreter shutdown
            report("offload.start", exc)
            return False
        _thread = t
        if not _exit_hook:
            atexit.register(drain)
            _exit_hook = True
        return True


def submit(job: Callable[[], None]) -> bool:
    """Queue *job*; False if the caller must run it itself (inline mode, queue full, no
    thread). Never raises."""
    if inline:
        return False
    try:
        t = _thread
        if (t is None or not t.is_alive()) and not _start():
            return False
        if _jobs.qsize() >= MAX_QUEUED:
            count(c.SDK_COMPONENT_OFFLOAD_FULL)
            return False
        _jobs.put(job)
        return True
    except Exception as exc:
        report("offload.submit", exc)
        return False


def pending() -> int:
    """Calls queued and not yet taken by the thread (for tests and diagnostics)."""
    return _jobs.qsize()


def on_worker() -> bool:
    return threading.current_thread() is _thread


def drain(timeout: float = 10.0) -> bool:
    """Wait until every call queued before now is done (True) or *timeout* s pass (False).
    Never raises; returns at once on the thread itself (a job cannot wait for itself)."""
    try:
        t = _thread
        if t is None or not t.is_alive() or on_worker():
            return _jobs.qsize() == 0
        done = threading.Event()
        _jobs.put(done.set)  # FIFO, one thread: everything before it is done when it runs
        return done.wait(timeout)
    except Exception as exc:
        report("offload.drain", exc)
        return False


def _after_fork_in_child() -> None:
    global _jobs, _thread, _lock
    _jobs = queue.SimpleQueue()
    _thread = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
