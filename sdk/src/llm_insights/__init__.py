"""llm_insights: OpenTelemetry + Azure Monitor telemetry for LLM apps, in one call.

::

    import llm_insights
    llm_insights.configure(service_name="pharmabot-api", service_version="1.0.0")
    llm_insights.instrument_openai()

Tokens, USD cost, latency, time to first token, content-safety hits, quality signals and RAG
retrieval quality, under the names of :mod:`llm_insights.contract`. See ``sdk/README.md``.
"""

from __future__ import annotations

from typing import Any

from . import contract
from ._agent import record_agent_run, record_tool_call
from ._config import ConfigurationError, configure, flush, shutdown
from ._evaluation import (
    Evaluation,
    EvaluationInput,
    clear_evaluators,
    evaluate,
    record_feedback,
    register_evaluator,
)
from ._instrument_openai import instrument_openai as _instrument
from ._instrument_openai import uninstrument_openai
from ._manual_call import llm_call
from ._metrics import views as metric_views
from ._span_metrics import foreign_metric_views, record_genai_spans
from ._span_metrics import span_processor as genai_span_processor
from ._spans import agent, attributes, chain, retrieval, tool
from ._state import use_providers


def instrument_openai(
    *, tracer_provider: Any = None, meter_provider: Any = None, logger_provider: Any = None
) -> bool:
    """Instrument the openai client. Providers given here receive the SDK's telemetry (else
    OpenTelemetry's globals, which ``configure()`` sets)."""
    if tracer_provider is not None or meter_provider is not None or logger_provider is not None:
        use_providers(tracer_provider, meter_provider, logger_provider)
    return _instrument()


__all__ = [
    "ConfigurationError",
    "Evaluation",
    "EvaluationInput",
    "agent",
    "attributes",
    "chain",
    "clear_evaluators",
    "configure",
    "contract",
    "evaluate",
    "flush",
    "foreign_metric_views",
    "genai_span_processor",
    "instrument_openai",
    "llm_call",
    "metric_views",
    "record_agent_run",
    "record_feedback",
    "record_genai_spans",
    "record_tool_call",
    "register_evaluator",
    "retrieval",
    "shutdown",
    "tool",
    "uninstrument_openai",
    "use_providers",
]
