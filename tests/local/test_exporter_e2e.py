"""The REAL Azure Monitor exporter → IngestServer → LocalStore → KQL, over loopback.

Proves the local endpoint speaks the exporter's protocol and that each kind of telemetry lands in
the table and columns Application Insights would put it in, including ``itemCount`` under
sampling.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from llm_insights import contract

from llm_insights_kit.local.envelopes import performance_bucket
from llm_insights_kit.local.ingest import LOOPBACK_EXPORTER_ENV, IngestServer
from llm_insights_kit.local.store import LocalStore

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:`LoggingHandler` in `opentelemetry-sdk` is deprecated"),
]

exporter = pytest.importorskip("azure.monitor.opentelemetry.exporter")

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler  # noqa: E402
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.id_generator import IdGenerator  # noqa: E402
from opentelemetry.trace import SpanKind, Status, StatusCode  # noqa: E402

TRACES = 120
SAMPLING_RATIO = 0.25  # sampleRate 25 → itemCount 4


class _SeededIds(IdGenerator):
    """Deterministic ids, so which traces the ratio sampler keeps is the same on every run."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def generate_span_id(self) -> int:
        return self._rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._rng.getrandbits(128) or 1


@pytest.fixture(scope="module")
def landed() -> Iterator[tuple[IngestServer, LocalStore, dict]]:
    """Drive the exporter once for the whole module; yield the server, store and what was sent."""
    mp = pytest.MonkeyPatch()
    # Microsoft's own endpoints; customer SDK stats would go to our endpoint (as on Azure) but
    # only at exit, after the server stopped
    for name, value in LOOPBACK_EXPORTER_ENV.items():
        mp.setenv(name, value)
    store = LocalStore()
    server = IngestServer(store).start()
    cs = server.connection_string
    kw = {"connection_string": cs, "disable_offline_storage": True}
    resource = Resource.create(
        {"service.name": "chat-api", "service.namespace": "llm", "service.instance.id": "pod-1"}
    )
    sent: dict = {"sampled_traces": 0}

    tracer_provider = TracerProvider(
        resource=resource,
        sampler=exporter.ApplicationInsightsSampler(sampling_ratio=SAMPLING_RATIO),
        id_generator=_SeededIds(7),
    )
    tracer_provider.add_span_processor(
        BatchSpanProcessor(
            exporter.AzureMonitorTraceExporter(tracer_provider=tracer_provider, **kw),
            max_export_batch_size=256,
            schedule_delay_millis=60_000,
        )
    )
    tracer = tracer_provider.get_tracer("e2e")
    for i in range(TRACES):
        with tracer.start_as_current_span(
            "POST /chat",
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": "POST",
                "url.full": "http://app.local/chat",
                "http.route": "/chat",
                "http.response.status_code": 200,
                "enduser.id": f"user-{i % 3}",
            },
        ) as root:
            sent["sampled_traces"] += root.get_span_context().trace_flags.sampled
            with tracer.start_as_current_span(
                "chat gpt-4o",
                kind=SpanKind.CLIENT,
                attributes={
                    contract.GEN_AI_OPERATION_NAME: contract.OPERATION_CHAT,
                    contract.GEN_AI_REQUEST_MODEL: "gpt-4o",
                    contract.SERVER_ADDRESS: "example.openai.azure.com",
                    contract.GEN_AI_USAGE_INPUT_TOKENS: 10,
                },
            ) as llm:
                llm.add_event(contract.EVENT_FIRST_CHUNK, {"n": 1})
                if i % 10 == 0:
                    llm.record_exception(TimeoutError("upstream timed out"))
                    llm.set_status(Status(StatusCode.ERROR))
            with tracer.start_as_current_span("retrieve", kind=SpanKind.INTERNAL):
                pass

    assert tracer_provider.force_flush(30_000)

    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=[
            PeriodicExportingMetricReader(
                exporter.AzureMonitorMetricExporter(**kw), export_interval_millis=3_600_000
            )
        ],
    )
    meter = meter_provider.get_meter("e2e")
    counter = meter.create_counter(contract.COST.name, unit=contract.COST.unit)
    counter.add(0.25, {contract.GEN_AI_REQUEST_MODEL: "gpt-4o"})
    counter.add(0.5, {contract.GEN_AI_REQUEST_MODEL: "gpt-4o"})
    histogram = meter.create_histogram(
        contract.OPERATION_DURATION.name, unit=contract.OPERATION_DURATION.unit
    )
    for value in (0.5, 1.5, 4.0):
        histogram.record(value, {contract.GEN_AI_REQUEST_MODEL: "gpt-4o"})
    meter_provider.force_flush()

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(exporter.AzureMonitorLogExporter(**kw))
    )
    log = logging.getLogger("llm_insights.e2e")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    handler = LoggingHandler(logger_provider=logger_provider)
    log.addHandler(handler)
    log.warning("budget at %d%%", 80, extra={"budget.usd": 10})
    log.info(
        "evaluation",
        extra={
            contract.MS_CUSTOM_EVENT_NAME: contract.EVENT_EVALUATION_RESULT,
            contract.GEN_AI_EVALUATION_NAME: "relevance",
            contract.GEN_AI_EVALUATION_SCORE_VALUE: 0.75,
        },
    )
    try:
        raise KeyError("missing price")
    except KeyError:
        log.exception("pricing failed")
    log.removeHandler(handler)

    sent["until"] = datetime.now(UTC)
    try:
        yield server, store, sent
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()
        logger_provider.shutdown()
        server.stop()
        store.close()
        mp.undo()


def test_every_request_was_accepted(landed) -> None:
    server, _, _ = landed
    assert server.stats.rejected_requests == 0
    assert server.stats.items_accepted == server.stats.items_received > 0
    assert server.bytes_received > 0
    assert not server.errors
    # the Python exporter 1.0.0b58 sends plain JSON (bytes_received is the uncompressed size)
    assert server.stats.compressed_requests == 0


def test_server_spans_land_in_requests_with_item_count(landed) -> None:
    _, store, sent = landed
    n = sent["sampled_traces"]
    assert 10 <= n < TRACES  # the sampler kept some and dropped some
    rows = store.query(
        "requests | project name, url, resultCode, success, itemCount, duration, "
        "cloud_RoleName, cloud_RoleInstance, user_AuthenticatedId, operation_Id, "
        "operation_Name, performanceBucket, itemType"
    ).to_dicts()
    assert len(rows) == n
    assert {r["itemCount"] for r in rows} == {round(1 / SAMPLING_RATIO)}
    row = rows[0]
    assert row["name"] == "POST /chat" and row["url"] == "http://app.local/chat"
    assert row["resultCode"] == "200" and row["success"] is True
    assert row["cloud_RoleName"] == "llm.chat-api" and row["cloud_RoleInstance"] == "pod-1"
    assert row["user_AuthenticatedId"].startswith("user-")
    assert len(row["operation_Id"]) == 32 and row["operation_Name"] == "POST /chat"
    # the bucket of the span's own duration (the labels are tested in test_envelopes.py); which
    # bucket a request of in-process work lands in is up to the machine's load
    assert row["duration"] >= 0 and row["performanceBucket"] == performance_bucket(row["duration"])
    assert row["itemType"] == "request"
    # the estimate of all traffic from the sampled rows
    assert store.query("requests | summarize sum(itemCount)").scalar() == n * 4


def test_client_and_internal_spans_land_in_dependencies(landed) -> None:
    _, store, sent = landed
    n = sent["sampled_traces"]
    by_type = dict(store.query("dependencies | summarize count() by type | order by type asc").rows)
    assert by_type == {"InProc": n, "N/A": n}
    llm = store.query(
        "dependencies | where name == 'chat gpt-4o' "
        f"| extend model = tostring(customDimensions['{contract.GEN_AI_REQUEST_MODEL}']) "
        "| summarize calls = sum(itemCount), failed = sumif(itemCount, success == false), "
        "models = dcount(model), parents = dcount(operation_ParentId)"
    ).to_dicts()[0]
    assert llm["calls"] == 4 * n
    failed_traces = store.query(
        "dependencies | where name == 'chat gpt-4o' and success == false | count"
    ).scalar()
    assert llm["failed"] == 4 * failed_traces
    assert llm["models"] == 1 and llm["parents"] == n
    # the parent of every dependency is a stored request: join on the span ids
    joined = store.query(
        "dependencies | where type == 'InProc' | project operation_ParentId "
        "| join kind=inner (requests | project operation_ParentId = id) on operation_ParentId "
        "| count"
    ).scalar()
    assert joined == n


def test_span_events_land_in_traces_and_exceptions(landed) -> None:
    _, store, sent = landed
    n = sent["sampled_traces"]
    chunks = store.query(
        f"traces | where message == '{contract.EVENT_FIRST_CHUNK}' | summarize count(), "
        "sum(itemCount)"
    ).rows
    assert chunks == [(n, 4 * n)]
    exc = store.query(
        "exceptions | where type == 'TimeoutError' "
        "| project message, outerType, innermostType, problemId, details, itemCount"
    ).to_dicts()
    failed = store.query("dependencies | where success == false | count").scalar()
    assert len(exc) == failed
    if exc:
        assert exc[0]["message"] == "upstream timed out"
        assert exc[0]["innermostType"] == exc[0]["outerType"] == "TimeoutError"
        assert exc[0]["details"][0]["type"] == "TimeoutError"
        assert exc[0]["itemCount"] == 4


def test_metrics_land_in_custom_metrics(landed) -> None:
    _, store, _ = landed
    rows = {
        r["name"]: r
        for r in store.query(
            "customMetrics | project name, value, valueSum, valueCount, valueMin, valueMax, "
            "valueStdDev, itemCount, model = tostring(customDimensions['"
            f"{contract.GEN_AI_REQUEST_MODEL}'])"
        ).to_dicts()
    }
    cost = rows[contract.COST.name]
    assert cost["valueSum"] == cost["value"] == pytest.approx(0.75)
    assert cost["valueCount"] == 1 and cost["itemCount"] == 1 and cost["model"] == "gpt-4o"
    duration = rows[contract.OPERATION_DURATION.name]
    assert duration["valueSum"] == pytest.approx(6.0)
    assert (duration["valueCount"], duration["valueMin"], duration["valueMax"]) == (3, 0.5, 4.0)
    mean = store.query(
        f"customMetrics | where name == '{contract.OPERATION_DURATION.name}' "
        "| summarize mean = sum(valueSum) / sum(valueCount)"
    ).scalar()
    assert mean == pytest.approx(2.0)


def test_logs_land_in_traces_custom_events_and_exceptions(landed) -> None:
    _, store, _ = landed
    warning = store.query(
        "traces | where message startswith 'budget' | project message, severityLevel, "
        "b = tostring(customDimensions['budget.usd'])"
    ).rows
    assert warning == [("budget at 80%", 2, "10")]
    events = store.query(
        "customEvents | project name, evaluation = tostring(customDimensions['"
        f"{contract.GEN_AI_EVALUATION_NAME}']), score = todouble(customDimensions['"
        f"{contract.GEN_AI_EVALUATION_SCORE_VALUE}'])"
    ).rows
    assert events == [(contract.EVENT_EVALUATION_RESULT, "relevance", 0.75)]
    logged = store.query(
        "exceptions | where type == 'KeyError' | project message, severityLevel, itemCount"
    ).rows
    assert logged == [("pricing failed", 3, 1)]


def test_time_range_and_now_over_real_rows(landed) -> None:
    _, store, sent = landed
    until = sent["until"]
    total = store.query("requests | count").scalar()
    assert (
        store.query("requests | count", time_range=(until, until.replace(year=3000))).scalar() == 0
    )
    assert store.query("requests | where timestamp > ago(1h) | count", now=until).scalar() == (
        total
    )


def test_live_metrics_client_is_answered(landed) -> None:
    """The exporter's own QuickPulse client pings and is told nobody is subscribed."""
    from azure.monitor.opentelemetry.exporter._quickpulse._exporter import _QuickpulseExporter
    from azure.monitor.opentelemetry.exporter._quickpulse._generated.livemetrics.models import (
        MonitoringDataPoint,
    )

    server, _, _ = landed
    before = server.stats.live_requests
    qp = _QuickpulseExporter(connection_string=server.connection_string)
    point = MonitoringDataPoint(
        version="1",
        invariant_version=5,
        instance="pod-1",
        role_name="llm.chat-api",
        machine_name="local",
        stream_id="s1",
        is_web_app=False,
        performance_collection_supported=True,
        timestamp=datetime.now(UTC),
    )
    response = qp._ping(point)
    assert response is not None
    assert response._response_headers.get("x-ms-qps-subscribed") == "false"
    assert server.stats.live_requests == before + 1
