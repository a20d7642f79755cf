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
- the queue is bounded (``MAX_QUEUED`` calls, a few KiB each; the thread wakes once per
  ``BATCH_WINDOW_S`` under load, not once per call): a call finishing while it is full is done
  on its caller's thread instead (back-pressure, never a silent drop) and counted in
  ``llm_insights.sdk.errors{llm_insights.sdk.component=offload.queue_full}``;
- a job that fails is caught and counted like any SDK failure (``_guard.report``); nothing
  raises into the app;
- after ``os.fork`` the child starts empty (the parent's queued calls are the parent's).

When the callers keep the GIL busy, the thread would rather not be used at all. A caller that
never waits (a CPU-bound loop, or callers that together saturate the GIL) gives the GIL up for a
moment now and then (e.g. openai's ``os.urandom`` per request) and takes it back before the
waiting thread is scheduled: the thread wakes for nothing at every such moment (a context
switch, ~10 µs of CPU each) and never runs, while queued calls pile up. So a caller that finds
``STARVED_AT`` calls queued and the thread ``STARVED_GRACE_S`` past its due time (the end of its
window, or of its last job) takes over: it hands the GIL to the thread until the thread has
recorded the queue and parked (at most ``PARK_WAIT_S``); then callers record their own calls
without waking it for ``CALLER_RUNS_S``, after which the next call queues again. Callers that
wait on their model let the thread run and never take over.

``LLM_INSIGHTS_EMIT_INLINE=1`` does everything on the caller's thread, as before (the benchmark's
``llm_insights_inline`` configuration measures the difference).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import deque
from collections.abc import Callable

from . import contract as c
from ._guard import count, report

#: Calls waiting at most (a queued call holds its span and results, a few KiB); a burst beyond
#: it is done on the callers' threads (counted).
MAX_QUEUED = 2_000
#: After a wake-up the thread lets calls gather this long, then records them in one go: one
#: thread hand-over (and GIL switch) per window instead of per call. Metrics are exported once a
#: minute and spans in batches, so a few tens of milliseconds later changes nothing downstream.
BATCH_WINDOW_S = 0.05
# A queued call holds objects the cyclic GC tracks until the thread runs it, so a pile of queued
# calls makes young collections walk and promote it; queued jobs are kept lean for that (see
# ``_call.LLMCall.finish``). Ending the window early once a count of calls is queued halved the
# young collections of callers that wait on their model, but did not lower the process's total
# CPU in the benchmark (bench/ANALYSIS.md), so the window alone decides.
#: Calls queued, and seconds past the thread's due time (its window's end, or its last job's),
#: at which a caller concludes the thread cannot get the GIL. Two default switch intervals: a
#: thread that callers waiting on I/O let run gets the GIL well within it.
STARVED_AT = 16
STARVED_GRACE_S = 0.01
#: How long a taking-over caller hands the GIL to the thread to record the queue and park.
PARK_WAIT_S = 0.01
#: How long callers then record their own calls before queueing (and waking the thread) again:
#: each try costs a CPU-bound process ~STARVED_AT wasted wake-ups, an app whose load changed
#: back to waiting on its model at most this long of recording on its callers.
CALLER_RUNS_S = 2.0
INLINE_ENV = "LLM_INSIGHTS_EMIT_INLINE"

_lock = threading.Lock()
_jobs: deque[Callable[[], None]] = deque()  # append/popleft are atomic: no lock per call
_wake = threading.Event()  # set by submit() when the thread is idle, and by drain()
_hurry = threading.Event()  # set by drain(): skip the batching window
_parked = threading.Event()  # set by the thread just before it waits for _wake
_idle = True
#: time.monotonic() by which the thread should show progress: its window's end once woken, then
#: the end of its last job
_due = 0.0
_caller_until = 0.0  # until then (time.monotonic()) callers record their own calls
#: Take-overs since start (diagnostics and tests).
takeovers = 0
_thread: threading.Thread | None = None
_running = False  # the thread is in _run(): cheaper to read per call than Thread.is_alive()
_exit_hook = False
inline = os.environ.get(INLINE_ENV, "").strip().lower() in ("1", "true", "yes")


def _run() -> None:
    global _running
    _running = True
    try:
        _work()
    finally:  # whatever ends the thread, the next submit() starts another
        _running = False


def _work() -> None:
    global _idle, _due
    while True:
        _parked.set()
        # the timeout bounds the delay of a wake-up lost to the benign race in submit(); while
        # callers record their own calls, a timed wake-up would only compete for the GIL
        _wake.wait(None if time.monotonic() < _caller_until else 1.0)
        _wake.clear()
        now = time.monotonic()
        if not _hurry.is_set() and now >= _caller_until:
            _due = now + BATCH_WINDOW_S
            _hurry.wait(BATCH_WINDOW_S)
        _hurry.clear()
        while True:
            while True:
                try:
                    job = _jobs.popleft()
                except IndexError:
                    break
                try:
                    job()
                except Exception as exc:  # a job guards itself; this is the last net
                    report("offload.job", exc)
                _due = time.monotonic()  # progress: a thread that records is not starved
            _idle = True
            if not _jobs:  # a call queued after the last popleft sees _idle and wakes us
                break
            _idle = False


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
    global _idle, _due, _caller_until
    if inline:
        return False
    try:
        if _caller_until:
            if time.monotonic() < _caller_until:
                return False
            _caller_until = 0.0  # try the thread again
        if not _running and not _start():
            return False
        queued = len(_jobs)
        if queued >= MAX_QUEUED:
            count(c.SDK_COMPONENT_OFFLOAD_FULL)
            return False
        if queued >= STARVED_AT and time.monotonic() > _due + STARVED_GRACE_S:
            _take_over()
            return False
        _jobs.append(job)
        if _idle:  # wake the thread only when it waits: one hand-over per batch
            _idle = False
            _due = time.monotonic() + BATCH_WINDOW_S
            _wake.set()
        return True
    except Exception as exc:
        report("offload.submit", exc)
        return False


def _take_over() -> None:
    """The thread is starved of the GIL: let it record the queue and park, then have callers
    record their own calls for CALLER_RUNS_S (see the module's docstring)."""
    global _caller_until, takeovers
    takeovers += 1
    _caller_until = time.monotonic() + CALLER_RUNS_S
    _parked.clear()
    _hurry.set()
    _wake.set()
    # blocking here releases the GIL with no caller to take it back first; a thread held up
    # by a slow job is not waited for beyond PARK_WAIT_S (its queue stays its own)
    _parked.wait(PARK_WAIT_S)


def pending() -> int:
    """Calls queued and not yet taken by the thread (for tests and diagnostics)."""
    return len(_jobs)


def on_worker() -> bool:
    return threading.current_thread() is _thread


def drain(timeout: float = 10.0) -> bool:
    """Wait until every call queued before now is done (True) or *timeout* s pass (False).
    Never raises; returns at once on the thread itself (a job cannot wait for itself)."""
    try:
        t = _thread
        if t is None or not t.is_alive() or on_worker():
            return not _jobs
        done = threading.Event()
        _jobs.append(done.set)  # FIFO, one thread: everything before it is done when it runs
        _hurry.set()
        _wake.set()
        return done.wait(timeout)
    except Exception as exc:
        report("offload.drain", exc)
        return False


def _after_fork_in_child() -> None:
    global _jobs, _thread, _lock, _wake, _hurry, _parked, _idle, _running, _due, _caller_until
    _jobs = deque()
    _thread, _running = None, False
    _lock = threading.Lock()
    _wake, _hurry, _parked, _idle = threading.Event(), threading.Event(), threading.Event(), True
    _due = _caller_until = 0.0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
