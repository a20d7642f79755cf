"""``configure()``: one call wires the Azure Monitor distro for LLM telemetry.

Options merge arguments with environment variables in small functions (arguments win), like the
distro itself. Without a connection string the SDK logs one warning and records nothing to
export (or exports to a local ingestion endpoint when ``LLM_INSIGHTS_LOCAL_ENDPOINT`` is set);
``strict=True`` raises :class:`ConfigurationError` instead. A second call updates the SDK's own
settings (content capture, redaction, prices) but never re-creates exporters.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _cost, _endpoint, _evaluation, _keep, _offload, _price_table, _state
from . import contract as c
from ._guard import report
from ._metrics import views as contract_views
from ._quality import HALLUCINATION_PATTERNS, REFUSAL_PATTERNS, compile_patterns
from ._sampler import install_sampler
from ._span_metrics import foreign_metric_views, span_processor

logger = logging.getLogger("llm_insights")

_TRUE = {"1", "true", "yes", "on", "span_only", "span_and_event", "event_only"}
_lock = threading.Lock()
_exporting = False
_configured = False
_warned_no_connection = False


class ConfigurationError(ValueError):
    """Raised by ``configure(strict=True)`` only: names the setting and what is allowed."""


def _connection_string(arg: str | None, local_endpoint: str | None) -> tuple[str | None, str]:
    """(connection string, where it came from)."""
    if arg:
        return arg, "argument"
    env = os.environ.get(c.ENV_CONNECTION_STRING)
    if env:
        return env, c.ENV_CONNECTION_STRING
    local = local_endpoint or os.environ.get(c.ENV_LOCAL_ENDPOINT)
    if local:
        base = local.rstrip("/") + "/"
        return (
            f"InstrumentationKey={c.LOCAL_INSTRUMENTATION_KEY};"
            f"IngestionEndpoint={base};LiveEndpoint={base}",
            c.ENV_LOCAL_ENDPOINT,
        )
    return None, ""


# Switches for a process that exports to a loopback endpoint, so it calls nothing else
# (azure-monitor-opentelemetry-exporter 1.0.0b58 / azure-monitor-opentelemetry, read there):
LOCAL_ONLY_ENV: dict[str, str] = {
    # exporter/statsbeat/_state.py is_statsbeat_enabled(): the exporter's own usage telemetry to
    # Microsoft's statsbeat endpoints; statsbeat/_manager.py logs "Exporter is missing a valid
    # region." once per exporter (three) when the connection string names no region.
    c.ENV_STATSBEAT_DISABLED_ALL: "true",
    # exporter/statsbeat/customer/_utils.py is_customer_sdkstats_enabled(): SDK-stats rows.
    c.ENV_SDKSTATS_DISABLED: "true",
    # exporter/_configuration/_state.py: the OneSettings control plane (settings.sdk.monitor...).
    c.ENV_CONTROLPLANE_DISABLED: "true",
    # distro _utils/configurations.py _default_resource(): only the env-var ("otel") detector,
    # not azure_vm, which queries the instance metadata service at 169.254.169.254.
    c.ENV_OTEL_RESOURCE_DETECTORS: "otel",
}


def _loopback_endpoint(conn: str) -> str | None:
    """The connection string's IngestionEndpoint when it is a loopback address, else None.

    Split on ``;`` and the first ``=`` like the exporter's ``ConnectionStringParser``.
    """
    from urllib.parse import urlsplit

    fields = dict(part.split("=", 1) for part in conn.split(";") if "=" in part)
    endpoint = next(
        (v.strip() for k, v in fields.items() if k.strip().lower() == "ingestionendpoint"), ""
    )
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return endpoint
    try:
        return endpoint if ipaddress.ip_address(host).is_loopback else None
    except ValueError:
        return None


def _local_endpoint_settings(conn: str) -> bool:
    """For a loopback endpoint: the exporter calls nothing else and the console says one line.

    Settings the user set explicitly are kept (``setdefault``). Returns whether it applied.
    """
    endpoint = _loopback_endpoint(conn)
    if endpoint is None:
        return False
    for name, value in LOCAL_ONLY_ENV.items():
        os.environ.setdefault(name, value)
    print(
        f"llm_insights: telemetry goes to the local endpoint {endpoint} only",
        file=sys.stderr,
        flush=True,
    )
    return True


def _capture_mode(arg: Any) -> str:
    if arg is None:
        env = os.environ.get(c.ENV_CAPTURE_CONTENT, "").strip().lower()
        if env == _state.CONTENT_ON_ERROR:
            return _state.CONTENT_ON_ERROR
        return _state.CONTENT_ON if env in _TRUE else _state.CONTENT_OFF
    if arg is True:
        return _state.CONTENT_ON
    if arg == _state.CONTENT_ON_ERROR:
        return _state.CONTENT_ON_ERROR
    if arg is False:
        return _state.CONTENT_OFF
    raise ConfigurationError(
        f"configure(capture_content={arg!r}): allowed values are True, False, 'on_error' or None"
    )


def _chunk_metrics(arg: Any) -> bool:
    if arg is None:
        return os.environ.get(c.ENV_CHUNK_METRICS, "").strip().lower() in _TRUE
    if isinstance(arg, bool):
        return arg
    raise ConfigurationError(
        f"configure(chunk_metrics={arg!r}): allowed values are True, False or None "
        f"(None reads {c.ENV_CHUNK_METRICS})"
    )


def _resource(service_name: str, service_version: str | None, environment: str | None) -> Any:
    from opentelemetry.sdk.resources import Resource

    attrs: dict[str, str] = {"service.name": service_name}
    if service_version:
        attrs["service.version"] = service_version
    env = environment or os.environ.get(c.ENV_ENVIRONMENT)
    if env:
        attrs[c.RESOURCE_DEPLOYMENT_ENVIRONMENT] = env
        attrs[c.RESOURCE_DEPLOYMENT_ENVIRONMENT_NAME] = env
    return Resource.create(attrs)


@dataclass(frozen=True)
class Options:
    """What ``configure()`` was asked for (its arguments; None: read the environment, or the
    default). See ``configure`` in ``sdk/README.md`` for each."""

    service_name: str
    service_version: str | None = None
    environment: str | None = None
    connection_string: str | None = None
    credential: Any = None
    capture_content: bool | str | None = None
    content_sample_rate: float = 1.0
    redact: Callable[[str], str] | None = None
    prices: _price_table.PricesArg = None
    strict: bool = False
    local_endpoint: str | None = None
    sampling_ratio: float | None = None
    traces_per_second: float | None = None
    refusal_patterns: Iterable[str] | None = None
    hallucination_patterns: Iterable[str] | None = None
    chunk_metrics: bool | None = None
    deployments: Any = None
    keep_per_minute: int | None = None
    keep_slow_seconds: float | None = None
    azure_monitor: Mapping[str, Any] = field(default_factory=dict)  # the distro's own options


def _apply_settings(o: Options) -> None:
    """The SDK's own settings from *o* (applied at every ``configure()`` call)."""
    try:  # failed and slow spans kept whatever the sampler decided (see _keep)
        _keep.configure(o.keep_per_minute, o.keep_slow_seconds)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    s = _state.settings
    s.capture_content = _capture_mode(o.capture_content)
    s.chunk_metrics = _chunk_metrics(o.chunk_metrics)
    rate = o.content_sample_rate
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ConfigurationError(
            f"configure(content_sample_rate={rate!r}): must be a number from 0 to 1"
        )
    s.content_sample_rate = float(rate)
    if o.redact is not None and not callable(o.redact):
        raise ConfigurationError("configure(redact=...): must be a function text -> text")
    s.redact = o.redact
    try:
        s.prices = _price_table.load(o.prices, strict=o.strict)
    except _price_table.PriceFileError as exc:  # only when strict
        raise ConfigurationError(f"configure(prices=...): {exc}") from exc
    try:  # None: LLM_INSIGHTS_PRICING_DEPLOYMENTS (read at the first call)
        s.deployments = (
            None
            if o.deployments is None
            else _cost.parse_deployments(o.deployments, "configure(deployments=...)")
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    # None keeps the defaults (and their fast keyword gate)
    s.refusal_patterns = (
        None
        if o.refusal_patterns is None
        else compile_patterns(o.refusal_patterns, REFUSAL_PATTERNS)
    )
    s.hallucination_patterns = (
        None
        if o.hallucination_patterns is None
        else compile_patterns(o.hallucination_patterns, HALLUCINATION_PATTERNS)
    )


def configure(
    service_name: str,
    service_version: str | None = None,
    *,
    environment: str | None = None,
    connection_string: str | None = None,
    credential: Any = None,
    capture_content: bool | str | None = None,
    content_sample_rate: float = 1.0,
    redact: Callable[[str], str] | None = None,
    prices: _price_table.PricesArg = None,
    strict: bool = False,
    local_endpoint: str | None = None,
    sampling_ratio: float | None = None,
    traces_per_second: float | None = None,
    refusal_patterns: Iterable[str] | None = None,
    hallucination_patterns: Iterable[str] | None = None,
    chunk_metrics: bool | None = None,
    deployments: Any = None,
    keep_per_minute: int | None = None,
    keep_slow_seconds: float | None = None,
    **azure_monitor_options: Any,
) -> bool:
    """Set up telemetry export; True when telemetry is exported. See ``sdk/README.md``."""
    o = Options(
        service_name=service_name, service_version=service_version, environment=environment,
        connection_string=connection_string, credential=credential,
        capture_content=capture_content, content_sample_rate=content_sample_rate, redact=redact,
        prices=prices, strict=strict, local_endpoint=local_endpoint,
        sampling_ratio=sampling_ratio, traces_per_second=traces_per_second,
        refusal_patterns=refusal_patterns, hallucination_patterns=hallucination_patterns,
        chunk_metrics=chunk_metrics, deployments=deployments, keep_per_minute=keep_per_minute,
        keep_slow_seconds=keep_slow_seconds, azure_monitor=azure_monitor_options,
    )  # fmt: skip
    return _configure(o)


def _configure(o: Options) -> bool:
    global _exporting, _configured, _warned_no_connection
    strict = o.strict
    try:
        if not isinstance(o.service_name, str) or not o.service_name.strip():
            raise ConfigurationError(
                "configure(service_name=...): a non-empty string is required "
                "(it becomes the cloud role name in the Application Map)"
            )
        _apply_settings(o)
        with _lock:
            if _configured:
                logger.info("llm_insights: already configured; settings updated, exporters kept")
                return _exporting
            conn, source = _connection_string(o.connection_string, o.local_endpoint)
            if conn is None:
                if strict:
                    raise ConfigurationError(
                        "no Application Insights connection string: pass "
                        f"configure(connection_string=...) or set {c.ENV_CONNECTION_STRING} "
                        f"(or {c.ENV_LOCAL_ENDPOINT} for a local endpoint)"
                    )
                if not _warned_no_connection:
                    _warned_no_connection = True
                    logger.warning(
                        "llm_insights: no connection string (%s unset): telemetry is recorded "
                        "but not exported",
                        c.ENV_CONNECTION_STRING,
                    )
                _configured = True
                return False
            wrong = _endpoint.problem(conn, source)
            if wrong is not None:
                if strict:
                    raise ConfigurationError(wrong)
                # not marked configured: a later configure() (endpoint started) may still export
                logger.warning("llm_insights: %s; telemetry is not exported", wrong)
                return False
            options = _distro_options(o, conn)
            _local_endpoint_settings(conn)
            from azure.monitor.opentelemetry import configure_azure_monitor

            with _filtering_export_handlers(options):
                configure_azure_monitor(**options)
            _keep_exporter_logs_out(options)
            _record_genai_spans()
            _state.use_providers()  # the distro's global providers
            _configured = True
            _exporting = True
            logger.info(
                "llm_insights: exporting to Application Insights (connection string from %s)",
                source,
            )
            return True
    except ConfigurationError:
        if strict:
            raise
        logger.exception("llm_insights: configuration error; telemetry is not exported")
        return False
    except Exception as exc:
        if strict:
            raise ConfigurationError(f"configure() failed: {exc}") from exc
        report("configure", exc)
        return False


def _distro_options(o: Options, conn: str) -> dict[str, Any]:
    """The options ``configure_azure_monitor`` gets for *o* (connection string *conn*)."""
    extra = dict(o.azure_monitor)
    options: dict[str, Any] = {
        "connection_string": conn,
        "resource": _resource(o.service_name, o.service_version, o.environment),
        "enable_live_metrics": True,
    }
    if o.credential is not None:
        options["credential"] = o.credential
    # Sampling: explicit arguments win; else the distro reads OTEL_TRACES_SAMPLER(_ARG) itself
    # (microsoft.rate_limited | microsoft.fixed.percentage | always_on | ...), default 5 traces/s.
    if o.sampling_ratio is not None:
        options["sampling_ratio"] = float(o.sampling_ratio)
    elif o.traces_per_second is not None:
        options["traces_per_second"] = float(o.traces_per_second)
    user_views = list(extra.pop("views", None) or [])
    # gen_ai.client.* come only from the kit (its patch or the GenAI span processor)
    options["views"] = contract_views() + foreign_metric_views() + user_views
    # the GenAI span processor goes before the distro's exporting processor (it runs first)
    options["span_processors"] = [span_processor(), *(extra.pop("span_processors", None) or [])]
    options.update(extra)
    return options


def _record_genai_spans() -> None:
    """GenAI spans the distro's sampler drops are still recorded (for the span processor)."""
    try:
        from opentelemetry import trace

        install_sampler(trace.get_tracer_provider())
    except Exception as exc:
        report("configure.sampler", exc)


# Loggers of the export pipeline itself: each export logs through them (azure-core's request
# logging, urllib3's connection lines, the exporter's own). Exported through the distro's log
# handler, every export would log records that need another export — with DEBUG/INFO on the root
# logger that never settles (flush() never returns).
_EXPORT_PIPELINE_LOGGERS = (
    "azure.core",
    "azure.identity",
    "azure.monitor.opentelemetry",
    "msal",
    "opentelemetry",
    "requests",
    "urllib3",
)


class _NotExportPipeline(logging.Filter):
    """Keeps the export pipeline's own records out of the exporting handler (the app's console
    and other handlers still get them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        for prefix in _EXPORT_PIPELINE_LOGGERS:
            if name == prefix or name.startswith(prefix + "."):
                return False
        return True


def _export_logger(options: dict[str, Any]) -> logging.Logger:
    """The logger the distro puts its log-exporting handler on (``logger_name``, root default)."""
    name = options.get("logger_name")
    if name is None:
        name = os.environ.get("PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME", "")
    return logging.getLogger(name or None)


def _filter_export_handler(handler: Any) -> None:
    # the distro's handler class moved between OpenTelemetry packages across versions
    cls = type(handler)
    if (
        cls.__name__ == "LoggingHandler"
        and cls.__module__.startswith("opentelemetry")
        and not any(isinstance(f, _NotExportPipeline) for f in handler.filters)
    ):
        handler.addFilter(_NotExportPipeline())


@contextlib.contextmanager
def _filtering_export_handlers(options: dict[str, Any]) -> Iterator[None]:
    """While the distro configures, its log-exporting handler is filtered the moment it is added.

    The distro's log processor may export while ``configure_azure_monitor`` is still setting up
    instrumentations (its schedule delay is a second); a handler filtered only afterwards would
    have queued that export's own request logs. Neither the distro nor ``logging`` offers a hook
    for a handler being added, so the logger's ``addHandler`` is shadowed on that one logger
    instance for the duration of the call, then removed.
    """
    logger = _export_logger(options)
    added = logger.addHandler

    def add_handler(handler: Any) -> None:
        added(handler)
        try:
            _filter_export_handler(handler)
        except Exception as exc:
            report("configure.log_filter", exc)

    logger.addHandler = add_handler  # type: ignore[method-assign]
    try:
        yield
    finally:
        if logger.__dict__.get("addHandler") is add_handler:
            del logger.addHandler


def _keep_exporter_logs_out(options: dict[str, Any]) -> None:
    """Filter the distro's log-exporting handler (on the ``logger_name`` logger, root by
    default) so the export pipeline's records are not exported in a loop."""
    try:
        for handler in _export_logger(options).handlers:
            _filter_export_handler(handler)
    except Exception as exc:
        report("configure.log_filter", exc)


def _providers(component: str) -> tuple[Any, ...]:
    try:
        return tuple(_state.providers())
    except Exception as exc:
        report(component, exc)
        return ()


def flush(timeout_millis: int = 10_000) -> None:
    """Export everything recorded so far (waits for queued evaluations first). Never raises."""
    try:  # first the calls still being recorded (they may queue evaluations)
        _offload.drain(timeout_millis / 1000)
    except Exception as exc:
        report("flush.offload", exc)
    try:
        _evaluation.drain(timeout_millis / 1000)
    except Exception as exc:
        report("flush.evaluations", exc)
    for provider in _providers("flush"):
        fn = getattr(provider, "force_flush", None)
        if fn is None:
            continue
        try:
            fn(timeout_millis)
        except TypeError:
            try:
                fn()
            except Exception as exc:
                report("flush", exc)
        except Exception as exc:
            report("flush", exc)


def shutdown() -> None:
    """Flush, then shut the providers down (at app exit). Never raises."""
    flush()
    for provider in _providers("shutdown"):
        fn = getattr(provider, "shutdown", None)
        if fn is not None:
            try:
                fn()
            except Exception as exc:
                report("shutdown", exc)


def _reset_for_tests() -> None:
    global _exporting, _configured, _warned_no_connection
    _exporting = _configured = _warned_no_connection = False
