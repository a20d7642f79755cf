"""configure(): connection string sources, local endpoint, strict mode, idempotence, options."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Iterator

import llm_insights
import pytest
from llm_insights import _config, _state
from llm_insights import contract as c

REAL = "InstrumentationKey=11111111-1111-1111-1111-111111111111;IngestionEndpoint=https://x/"


@pytest.fixture
def distro(monkeypatch, telemetry):
    """Capture what configure() hands the Azure Monitor distro (without setting globals)."""
    import azure.monitor.opentelemetry as amo

    calls: list[dict] = []
    monkeypatch.setattr(amo, "configure_azure_monitor", lambda **kw: calls.append(kw))
    for var in (c.ENV_CONNECTION_STRING, c.ENV_LOCAL_ENDPOINT, c.ENV_ENVIRONMENT):
        monkeypatch.delenv(var, raising=False)
    _config._reset_for_tests()
    yield calls
    _config._reset_for_tests()


def test_no_connection_string_warns_once_and_runs(distro, caplog):
    with caplog.at_level(logging.WARNING, logger="llm_insights"):
        assert llm_insights.configure("svc") is False
        assert llm_insights.configure("svc") is False
    assert distro == []
    warnings = [r for r in caplog.records if "no connection string" in r.getMessage()]
    assert len(warnings) == 1
    with llm_insights.llm_call(provider="openai", model="gpt-4o"):
        pass  # still instrumented, just not exported


def test_strict_raises_without_connection_string(distro):
    with pytest.raises(llm_insights.ConfigurationError, match=c.ENV_CONNECTION_STRING):
        llm_insights.configure("svc", strict=True)


def test_empty_service_name_is_a_clear_error(distro):
    with pytest.raises(llm_insights.ConfigurationError, match="service_name"):
        llm_insights.configure("", strict=True)
    assert llm_insights.configure("  ") is False


def test_connection_string_argument_and_options(distro):
    cred = object()
    assert llm_insights.configure(
        "pharmabot-api",
        "1.0.0",
        environment="prod",
        connection_string=REAL,
        credential=cred,
        sampling_ratio=0.25,
        disable_offline_storage=True,
    )
    [kw] = distro
    assert kw["connection_string"] == REAL and kw["credential"] is cred
    res = kw["resource"].attributes
    assert res["service.name"] == "pharmabot-api" and res["service.version"] == "1.0.0"
    assert res[c.RESOURCE_DEPLOYMENT_ENVIRONMENT] == "prod"
    assert res[c.RESOURCE_DEPLOYMENT_ENVIRONMENT_NAME] == "prod"
    assert kw["enable_live_metrics"] is True
    assert kw["sampling_ratio"] == 0.25 and "traces_per_second" not in kw
    assert kw["disable_offline_storage"] is True  # extra options pass through
    view_names = {v._instrument_name for v in kw["views"]}
    assert {m.name for m in c.METRICS} <= view_names


def test_env_connection_string_and_sampling_left_to_the_distro(distro, monkeypatch):
    monkeypatch.setenv(c.ENV_CONNECTION_STRING, REAL)
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "microsoft.fixed.percentage")
    assert llm_insights.configure("svc")
    [kw] = distro
    assert kw["connection_string"] == REAL
    assert "sampling_ratio" not in kw and "traces_per_second" not in kw  # the distro reads env


def test_traces_per_second(distro):
    llm_insights.configure("svc", connection_string=REAL, traces_per_second=2)
    assert distro[0]["traces_per_second"] == 2.0


@pytest.fixture
def listening() -> Iterator[str]:
    """A loopback address something listens on (the local endpoint is checked at start-up)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_local_endpoint_builds_connection_string(distro, monkeypatch, listening):
    monkeypatch.setenv(c.ENV_LOCAL_ENDPOINT, listening)
    assert llm_insights.configure("svc")
    conn = distro[0]["connection_string"]
    assert conn == (
        f"InstrumentationKey={c.LOCAL_INSTRUMENTATION_KEY};"
        f"IngestionEndpoint={listening}/;LiveEndpoint={listening}/"
    )


def test_real_connection_string_wins_over_local(distro, monkeypatch):
    monkeypatch.setenv(c.ENV_LOCAL_ENDPOINT, "http://127.0.0.1:4999")
    llm_insights.configure("svc", connection_string=REAL)
    assert distro[0]["connection_string"] == REAL


def test_twice_is_safe_and_updates_settings(distro):
    assert llm_insights.configure("svc", connection_string=REAL)
    assert llm_insights.configure("svc", connection_string=REAL, capture_content=True)
    assert len(distro) == 1  # exporters set up once
    assert _state.settings.capture_content == _state.CONTENT_ON


def test_distro_failure_never_raises_unless_strict(distro, monkeypatch):
    import azure.monitor.opentelemetry as amo

    def broken(**kw):
        raise RuntimeError("exporter init failed")

    monkeypatch.setattr(amo, "configure_azure_monitor", broken)
    assert llm_insights.configure("svc", connection_string=REAL) is False
    _config._reset_for_tests()
    with pytest.raises(llm_insights.ConfigurationError, match="exporter init failed"):
        llm_insights.configure("svc", connection_string=REAL, strict=True)


def test_flush_and_shutdown_never_raise(telemetry):
    llm_insights.flush()
    llm_insights.shutdown()
    llm_insights.shutdown()


class _Broken:
    """A provider whose flush and shutdown fail."""

    def force_flush(self, timeout_millis=None):
        raise RuntimeError("exporter down")

    def shutdown(self):
        raise RuntimeError("exporter down")


class _BadSignature:
    """force_flush raises TypeError with and without the timeout argument."""

    def force_flush(self, *args):
        raise TypeError("unexpected argument")

    def shutdown(self, *args):
        raise TypeError("unexpected argument")


class _NoTimeout:
    """An older provider: force_flush() takes no timeout; it is still flushed, once."""

    def __init__(self):
        self.flushed = 0

    def force_flush(self):
        self.flushed += 1


def test_failing_providers_flush_and_shutdown_are_counted_not_raised(telemetry):
    from llm_insights import _guard

    no_timeout = _NoTimeout()
    _state.use_providers(_Broken(), _BadSignature(), no_timeout)
    before = _guard.error_counts()
    llm_insights.flush()
    after_flush = _guard.error_counts()
    assert after_flush.get("flush", 0) - before.get("flush", 0) == 2  # broken + bad signature
    assert no_timeout.flushed == 1
    llm_insights.shutdown()
    after = _guard.error_counts()
    assert after.get("flush", 0) - after_flush.get("flush", 0) == 2
    assert after.get("shutdown", 0) - before.get("shutdown", 0) == 2


def test_flush_and_shutdown_survive_provider_lookup_failure(telemetry, monkeypatch):
    from llm_insights import _guard

    def broken():
        raise RuntimeError("no providers")

    monkeypatch.setattr(_state, "providers", broken)
    before = _guard.error_counts().get("flush", 0)
    llm_insights.flush()
    llm_insights.shutdown()
    assert _guard.error_counts().get("flush", 0) - before == 2  # flush + shutdown's flush


def test_config_reads_resource_names_from_the_contract():
    """No re-typed contract name: the environment's resource keys come from contract.py."""
    from pathlib import Path

    source = Path(_config.__file__).read_text(encoding="utf-8")
    for name in (c.RESOURCE_DEPLOYMENT_ENVIRONMENT, c.RESOURCE_DEPLOYMENT_ENVIRONMENT_NAME):
        assert f'"{name}"' not in source


def test_chunk_metrics_off_by_default_env_and_argument(distro, monkeypatch):
    monkeypatch.delenv(c.ENV_CHUNK_METRICS, raising=False)
    llm_insights.configure("svc")
    assert _state.settings.chunk_metrics is False  # ~25 µs per chunk: opt-in
    monkeypatch.setenv(c.ENV_CHUNK_METRICS, "true")
    llm_insights.configure("svc")
    assert _state.settings.chunk_metrics is True
    llm_insights.configure("svc", chunk_metrics=False)  # the argument wins
    assert _state.settings.chunk_metrics is False
    with pytest.raises(llm_insights.ConfigurationError, match=c.ENV_CHUNK_METRICS):
        llm_insights.configure("svc", chunk_metrics="yes", strict=True)


# -- a wrong address is one clear line at start-up -------------------------------------------
def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as server:
        return server.getsockname()[1]


def _wrong_local_endpoints(listening: str) -> dict[str, tuple[str, str]]:
    port = listening.rsplit(":", 1)[1]
    return {
        "no scheme": (f"127.0.0.1:{port}", "the scheme is missing"),
        "track path": (
            f"{listening}/v2.1/track",
            f"remove '/v2.1/track', give the server's address {listening} (the exporter adds "
            "/v2.1/track itself)",
        ),
        "down": (f"http://127.0.0.1:{_closed_port()}", "nothing answers there"),
    }


@pytest.mark.parametrize("case", ["no scheme", "track path", "down"])
def test_wrong_local_endpoint_is_one_line_and_false(distro, monkeypatch, listening, caplog, case):
    value, says = _wrong_local_endpoints(listening)[case]
    monkeypatch.setenv(c.ENV_LOCAL_ENDPOINT, value)
    with caplog.at_level(logging.WARNING, logger="llm_insights"):
        assert llm_insights.configure("svc") is False
    assert distro == []  # no exporter built for an address that cannot work
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"llm_insights: {c.ENV_LOCAL_ENDPOINT} = {value!r}: "), line
    assert says in line and "telemetry is not exported" in line
    assert not any(r.exc_info for r in caplog.records)  # a line, not a traceback
    with pytest.raises(llm_insights.ConfigurationError, match="^" + c.ENV_LOCAL_ENDPOINT):
        llm_insights.configure("svc", strict=True)


@pytest.mark.parametrize(
    ("conn", "says"),
    [
        ("garbage", "connection_string: not a connection string: expected key=value pairs"),
        ("InstrumentationKey=abc", "InstrumentationKey = 'abc': expected a lowercase UUID"),
        (REAL + ";", "not a connection string"),
        (
            "InstrumentationKey=11111111-1111-1111-1111-111111111111;Authorization=aad",
            "Authorization = 'aad': the exporter accepts only ikey",
        ),
        (
            "InstrumentationKey=11111111-1111-1111-1111-111111111111;"
            "IngestionEndpoint=westeurope-5.in.applicationinsights.azure.com",
            "connection_string: IngestionEndpoint = 'westeurope-5.in.applicationinsights.azure.com'"
            ": expected an http:// or https:// URL",
        ),
    ],
)
def test_malformed_connection_string_is_one_line(distro, caplog, conn, says):
    with caplog.at_level(logging.WARNING, logger="llm_insights"):
        assert llm_insights.configure("svc", connection_string=conn) is False
    [line] = [r.getMessage() for r in caplog.records]
    assert says in line and distro == []
    with pytest.raises(llm_insights.ConfigurationError, match="connection_string"):
        llm_insights.configure("svc", connection_string=conn, strict=True)


def test_a_missing_scheme_is_one_line_in_a_real_process(tmp_path):
    """With the real distro and no logging set up: one line on stderr, none of the exporter's
    region complaints, and the app goes on."""
    code = (
        "import llm_insights\n"
        "print(llm_insights.configure('svc'))\n"
        "with llm_insights.llm_call(provider='openai', model='gpt-4o'):\n"
        "    pass\n"
    )
    env = {"PATH": "/usr/bin:/bin", c.ENV_LOCAL_ENDPOINT: f"127.0.0.1:{_closed_port()}"}
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 0 and run.stdout.strip() == "False", run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "the scheme is missing" in lines[0], run.stderr
