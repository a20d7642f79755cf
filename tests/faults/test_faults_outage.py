"""Ingestion endpoint down — 503s, then refused connections, then timeouts — then back: the app's
calls never wait on telemetry, and after recovery every span and every call counted in the
metrics arrives (from the exporter's offline storage), within its documented limits."""

from __future__ import annotations

import statistics
import threading
import time

import pytest
from azure.monitor.opentelemetry.exporter.export._base import BaseExporter
from llm_insights import _guard
from llm_insights import contract as c

from .conftest import MESSAGES, llm_client

pytestmark = pytest.mark.slow

CALLS_PER_PHASE = 15


def _response_ids(envelopes: list[dict]) -> set[str]:
    out = set()
    for env in envelopes:
        base = env.get("data", {}).get("baseData", {})
        rid = (base.get("properties") or {}).get(c.GEN_AI_RESPONSE_ID)
        if rid:
            out.add(rid)
    return out


def _counted_calls(envelopes: list[dict]) -> int:
    total = 0
    for env in envelopes:
        for m in env.get("data", {}).get("baseData", {}).get("metrics", []) or []:
            if m.get("name") == c.OPERATION_DURATION.name:
                total += int(m.get("count", 1))
    return total


def _phase(client, latencies: list[float], sent: set[str], settle: float) -> None:
    for _ in range(CALLS_PER_PHASE):
        start = time.perf_counter()
        resp = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        latencies.append(time.perf_counter() - start)
        sent.add(resp.id)
    time.sleep(settle)  # let the exporters try (and fail) during this phase


def test_outage_then_recovery_loses_nothing(wired, monkeypatch) -> None:
    # every send (and its timeouts and retries) happens on the thread that calls _transmit
    senders: set[int] = set()
    transmit = BaseExporter._transmit

    def _transmit(self, *args, **kwargs):
        senders.add(threading.get_ident())
        return transmit(self, *args, **kwargs)

    monkeypatch.setattr(BaseExporter, "_transmit", _transmit)
    client = llm_client()
    ingest = wired.ingest
    sent: set[str] = set()
    healthy: list[float] = []
    outage: list[float] = []
    errors_before = sum(_guard.error_counts().values())

    _phase(client, healthy, sent, settle=1.0)
    ingest.set_fault(status=503)
    _phase(client, outage, sent, settle=1.5)
    ingest.set_fault(refuse=True)
    _phase(client, outage, sent, settle=1.5)
    ingest.set_fault(delay=2.5)  # answers after the exporter's 1 s timeout
    _phase(client, outage, sent, settle=3.0)
    stored_during_outage = len(wired.blobs())
    ingest.set_fault()

    # back: a successful export drains stored batches (10 per success), so keep the app busy
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        _phase(client, healthy, sent, settle=0.5)
        got = _response_ids(ingest.envelopes)
        if sent <= got and _counted_calls(ingest.envelopes) >= len(sent):
            break
    app_waited = threading.get_ident() in senders  # before flush(), which sends on this thread
    wired.flush()
    got = _response_ids(ingest.envelopes)
    lost_spans = sent - got
    counted = _counted_calls(ingest.envelopes)

    print(
        f"\noutage: {stored_during_outage} batches stored offline; after recovery "
        f"{len(lost_spans)} of {len(sent)} spans lost, {counted} calls counted in metrics; "
        f"app call latency median healthy {statistics.median(healthy) * 1e3:.2f} ms, "
        f"outage {statistics.median(outage) * 1e3:.2f} ms (max {max(outage) * 1e3:.1f} ms)"
    )
    assert stored_during_outage > 0, "nothing went to offline storage during the outage"
    assert not lost_spans, f"{len(lost_spans)} spans lost after recovery"
    # metrics export as deltas: a batch re-sent after a timeout that the server had in fact
    # accepted counts twice, so at least, never fewer
    assert counted >= len(sent)
    # the app never waited for telemetry: no send ran on its thread (how long its calls took is
    # printed above; on a loaded machine that is the load's, not the SDK's)
    assert senders and not app_waited
    assert sum(_guard.error_counts().values()) == errors_before
