"""Broken parts around the SDK — an exporter that raises, hooks that raise, offline storage that
cannot be written — never reach the app: its calls return what they would have returned."""

from __future__ import annotations

import logging
from pathlib import Path

import llm_insights
import pytest
from llm_insights import _guard, _offload, _state
from llm_insights import contract as c
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from support.offload import DrainingMetricReader, DrainingSpanExporter

from .conftest import MESSAGES, QUIET, exporter_options, llm_client


class RaisingExporter(SpanExporter):
    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans):  # type: ignore[no-untyped-def]
        self.calls += 1
        raise RuntimeError("exporter exploded")

    def shutdown(self) -> None:
        pass


@pytest.fixture
def providers():
    reader = DrainingMetricReader()
    mp = MeterProvider(metric_readers=[reader], views=llm_insights.metric_views())
    spans = DrainingSpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    _state.reset()
    _state.use_providers(tp, mp, None)
    llm_insights.instrument_openai()
    yield tp, reader, spans
    llm_insights.uninstrument_openai()
    llm_insights.clear_evaluators()
    _state.reset()
    llm_insights._config._reset_for_tests()


def _durations(reader) -> int:
    data = reader.get_metrics_data()
    return sum(
        p.count
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == c.OPERATION_DURATION.name
        for p in m.data.data_points
    )


@pytest.mark.parametrize("processor", ["simple", "batch"])
def test_exporter_that_raises(providers, processor: str, caplog) -> None:
    tp, reader, spans = providers
    bad = RaisingExporter()
    tp.add_span_processor(
        SimpleSpanProcessor(bad)
        if processor == "simple"
        else BatchSpanProcessor(bad, schedule_delay_millis=50)
    )
    client = llm_client()
    ids = [client.chat.completions.create(model="gpt-4o", messages=MESSAGES).id for _ in range(5)]
    _offload.drain()  # the kit's calls end their spans on the emit thread
    tp.force_flush(5_000)
    assert ids == [f"chatcmpl-{i}" for i in range(1, 6)]  # the app got every answer
    assert bad.calls >= 1
    assert len(spans.get_finished_spans()) == 5  # the healthy exporter still got everything
    assert _durations(reader) == 5


def test_redaction_hook_that_raises_never_leaks(providers) -> None:
    _, _, spans = providers

    def redact(text: str) -> str:
        raise ValueError("redactor down")

    llm_insights.configure("svc", capture_content=True, redact=redact)
    before = _guard.error_counts().get("content.redact", 0)
    resp = llm_client().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "my SSN is 078-05-1120"}]
    )
    assert resp.choices[0].message.content == "ok"
    exported = str(dict(spans.get_finished_spans()[0].attributes))
    assert "078-05-1120" not in exported
    assert _guard.error_counts().get("content.redact", 0) > before  # counted


def test_evaluator_that_raises_is_counted(providers) -> None:
    _, reader, _ = providers

    def judge(inp):  # type: ignore[no-untyped-def]
        raise RuntimeError("judge down")

    llm_insights.register_evaluator(judge)
    before = sum(_guard.error_counts().values())
    resp = llm_client().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    llm_insights.flush(5_000)
    assert resp.id == "chatcmpl-1"
    assert sum(_guard.error_counts().values()) > before
    assert _durations(reader) == 1


def _disk_full(monkeypatch) -> None:
    """Every write into offline storage fails with ENOSPC, as on a full disk (only the
    exporter's storage module sees the patched ``os``)."""
    import errno
    import os
    import types

    from azure.monitor.opentelemetry.exporter import _storage

    class FullFile:
        def write(self, _text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self) -> FullFile:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    def fdopen(fd: int, *args: object, **kwargs: object) -> FullFile:
        os.close(fd)
        return FullFile()

    patched = types.ModuleType("os")
    patched.__dict__.update(os.__dict__)
    patched.fdopen = fdopen  # type: ignore[attr-defined]
    monkeypatch.setattr(_storage, "os", patched)


@pytest.mark.parametrize("storage", ["disk-full", "cannot-create", "capacity-reached"])
def test_offline_storage_unwritable(tmp_path: Path, monkeypatch, storage: str, caplog) -> None:
    """A full disk (ENOSPC, or the exporter's own cap reached) or a storage path that cannot
    exist: the outage's telemetry is dropped, the app is unaffected, and export resumes."""
    from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter

    from llm_insights_kit.local.ingest import IngestServer

    for k, v in QUIET.items():
        monkeypatch.setenv(k, v)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with IngestServer() as ingest:
        kw = exporter_options(ingest, tmp_path / "offline")
        if storage == "cannot-create":
            kw["storage_directory"] = str(blocker / "offline")
        elif storage == "capacity-reached":
            kw["storage_max_size"] = 1  # bytes: every put is refused as over capacity
        else:
            _disk_full(monkeypatch)
        exporter = AzureMonitorTraceExporter(**kw)
        tp = TracerProvider()
        tp.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=100))
        _state.reset()
        _state.use_providers(tp, MeterProvider(), None)
        llm_insights.instrument_openai()
        try:
            client = llm_client()
            ingest.set_fault(status=503)
            caplog.set_level(logging.WARNING)
            outage = [client.chat.completions.create(model="gpt-4o", messages=MESSAGES).id]
            # the flush finishes (the failed store does not hang the pipeline); how fast is a
            # benchmark's business, not this test's
            _offload.drain()
            assert tp.force_flush(5_000)
            ingest.set_fault()
            after = client.chat.completions.create(model="gpt-4o", messages=MESSAGES).id
            _offload.drain()
            tp.force_flush(5_000)
            got = {
                (e["data"]["baseData"].get("properties") or {}).get(c.GEN_AI_RESPONSE_ID)
                for e in ingest.envelopes
            }
            assert after in got  # export resumed after the outage
            stored = [p for p in (tmp_path / "offline").rglob("*.blob") if p.is_file()]
            assert not stored  # nothing half-written was left to resend
            if storage == "disk-full":  # the exporter did try to store the outage's batch
                assert list((tmp_path / "offline").rglob("*.tmp"))
            assert outage[0] not in got  # dropped: nowhere to keep it (documented limit)
        finally:
            llm_insights.uninstrument_openai()
            tp.shutdown()
            _state.reset()
