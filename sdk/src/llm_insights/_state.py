"""Process-wide SDK state: the providers telemetry goes to, settings, and the instruments.

Providers default to OpenTelemetry's globals (set by ``configure()`` through the Azure Monitor
distro, or by the app). Tests and apps that wire OpenTelemetry themselves inject providers with
``use_providers()``; instruments are rebuilt when the providers change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import _guard, _offload
from . import contract as c
from ._metrics import _METER_NAME as SCOPE_NAME
from ._metrics import Instruments, _version

CONTENT_OFF = "off"
CONTENT_ON = "on"
CONTENT_ON_ERROR = "on_error"


@dataclass
class Settings:
    """What ``configure()`` decided; read at every call, so changes apply immediately."""

    capture_content: str = CONTENT_OFF
    content_sample_rate: float = 1.0
    redact: Callable[[str], str] | None = None
    prices: Any = None  # _price_table.PriceTable, loaded lazily
    deployments: Any = None  # deployment name -> _cost.Deployment, loaded lazily
    refusal_patterns: Any = None  # compiled, from _quality
    hallucination_patterns: Any = None
    chunk_metrics: bool = False  # per-chunk time_per_output_chunk records (opt-in: cost)
    extra: dict[str, Any] = field(default_factory=dict)


_lock = threading.RLock()
_tracer_provider: Any = None
_meter_provider: Any = None
_logger_provider: Any = None
_instruments: Instruments | None = None
_tracer: Any = None
_logger: Any = None
settings = Settings()
# another instrumentation's GenAI span was seen starting (``_span_metrics``): the kit's own call
# spans are then always recorded, for the de-duplication against it (see ``_call``)
foreign_genai = False


def use_providers(
    tracer_provider: Any = None, meter_provider: Any = None, logger_provider: Any = None
) -> None:
    """Send the SDK's telemetry to these providers (None: OpenTelemetry's global one)."""
    global _tracer_provider, _meter_provider, _logger_provider, _instruments, _tracer, _logger
    _offload.drain()  # calls that finished before the switch are recorded where they began
    with _lock:
        if _instruments is not None:  # counter sums not yet collected go to the old counters
            _instruments.tally.drain()
        _tracer_provider, _meter_provider, _logger_provider = (
            tracer_provider,
            meter_provider,
            logger_provider,
        )
        _instruments = _tracer = _logger = None


def providers() -> tuple[Any, Any, Any]:
    """The effective (tracer, meter, logger) providers."""
    from opentelemetry import _logs, metrics, trace

    return (
        _tracer_provider or trace.get_tracer_provider(),
        _meter_provider or metrics.get_meter_provider(),
        _logger_provider or _logs.get_logger_provider(),
    )


def instruments() -> Instruments:
    global _instruments
    inst = _instruments
    if inst is None:
        with _lock:
            if _instruments is None:
                _instruments = Instruments(_meter_provider)
            inst = _instruments
    return inst


def tracer() -> Any:
    global _tracer
    t = _tracer
    if t is None:
        with _lock:
            _tracer = t = providers()[0].get_tracer(SCOPE_NAME, _version())
    return t


def event_logger() -> Any:
    global _logger
    lg = _logger
    if lg is None:
        with _lock:
            _logger = lg = providers()[2].get_logger(SCOPE_NAME, _version())
    return lg


def reset() -> None:
    """Back to defaults (tests): providers, settings, and which failures were already logged."""
    global settings, foreign_genai
    use_providers()
    settings = Settings()
    foreign_genai = False
    _guard.forget_logged()


def _record_failure(component: str) -> None:
    """Count one SDK failure on ``llm_insights.sdk.errors`` (registered with ``_guard``)."""
    instruments().add(c.SDK_ERRORS, 1, {c.ATTR_SDK_COMPONENT: component})


_guard.on_failure(_record_failure)
