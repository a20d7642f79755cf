"""The sampler wrap: GenAI spans a sampler would drop are recorded (never exported).

The span processor (``_span_metrics``) counts every GenAI call from its span, so it must see
every GenAI span, sampled or not. :class:`GenAIRecordingSampler` wraps the provider's sampler:
a DROP of a GenAI span becomes RECORD_ONLY (recorded, so the processor sees it; not sampled, so
the exporting processor never exports it), and a span under a local parent that was not sampled
is never sampled (GenAI ones, and every span under a recorded one, are recorded only), even
where the Azure samplers would follow the parent's recorded sample rate
(``azure/monitor/opentelemetry/exporter/export/trace/_utils.py``, ``parent_context_sampling``):
the trace's decision holds for all of it.

A span is GenAI at start by its attributes (``gen_ai.operation.name``) or, when it starts
without them, by its name: the conventions name GenAI spans ``{operation} {target}``
(``chat gpt-4o``, ``invoke_agent triage``), and frameworks start spans with that name and set
the attributes afterwards (Agent Framework's ``start_span(name, kind)`` then
``set_attributes``; Semantic Kernel's chat spans), which a sampler never sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from opentelemetry.sdk.trace import sampling
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import get_current_span

from . import _semconv_compat as sc
from ._guard import report

# How the kit's own LLM call span is starting, set by ``_call.LLMCall`` around its
# ``start_span`` (the sampler runs inside it, on the same thread). A list cell: a call nothing
# needs recorded (see ``_call``) stays a DROP when the head sampler drops it, and the cell says
# so, so the call creates its span at its end only when the keep policy may keep it.
# ``LATE``: that span, created at the end — recorded only, whatever the sampler would decide
# now: the trace's decision was made at the call's start.
kit_start: ContextVar[Any] = ContextVar("llm_insights_kit_span_start", default=None)
LATE = "late"


def is_genai_at_start(name: Any, attributes: Any) -> bool:
    """Whether a span about to start is a GenAI span: by its attributes, else by its name."""
    return sc.operation_of(attributes) is not None or sc.operation_of_name(name) is not None


class GenAIRecordingSampler(Sampler):
    """Wraps a sampler: GenAI spans it would drop are recorded (not sampled, never exported)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: Any = None,
        attributes: Any = None,
        links: Sequence[Any] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        # GenAI spans, and every span under a recorded local one, are recorded: a framework's
        # non-GenAI spans between an agent and its calls link them for the span processor
        kit = kit_start.get()
        lazy = kit if type(kit) is list else None
        record = kit is None and is_genai_at_start(name, attributes)
        try:
            parent_span = get_current_span(parent_context)
            parent = parent_span.get_span_context()
            if kit is LATE:
                state = parent.trace_state if parent.is_valid else None
                return SamplingResult(Decision.RECORD_ONLY, attributes, state)
            if parent.is_valid and not parent.is_remote:
                record = record or parent_span.is_recording()
                if not parent.trace_flags.sampled:
                    if lazy is not None and not record:
                        lazy[0] = True  # dropped: the call creates its span at the end if kept
                    # the trace was not sampled: none of it is exported (Azure's samplers would
                    # sample a child of a recorded parent at the parent's rate)
                    return SamplingResult(
                        Decision.RECORD_ONLY if record else Decision.DROP,
                        attributes if record else None,
                        parent.trace_state,
                    )
        except Exception as exc:
            report("span_metrics.sampler", exc)
        result = self.inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )
        if lazy is not None and result.decision == Decision.DROP:
            lazy[0] = True
            return result
        if record and result.decision == Decision.DROP:
            merged = {**(attributes or {}), **(result.attributes or {})}
            return SamplingResult(Decision.RECORD_ONLY, merged, result.trace_state)
        return result

    def get_description(self) -> str:
        return f"GenAIRecording{{{self.inner.get_description()}}}"


def record_genai_spans(sampler: Any) -> Any:
    """*sampler* wrapped so GenAI spans it drops are still recorded (idempotent)."""
    if isinstance(sampler, GenAIRecordingSampler):
        return sampler
    return GenAIRecordingSampler(sampler)


def _is_shared(sampler: Any) -> bool:
    return any(
        sampler is getattr(sampling, name, None)
        for name in ("ALWAYS_ON", "ALWAYS_OFF", "DEFAULT_ON", "DEFAULT_OFF")
    )


class _Inner:
    """The original methods of a sampler wrapped in place."""

    def __init__(self, should_sample: Any, get_description: Any) -> None:
        self.should_sample = should_sample
        self.get_description = get_description


def install_sampler(tracer_provider: Any) -> bool:
    """Wrap *tracer_provider*'s sampler (idempotent; False if it has none).

    Where the API offers a seam — an app building its own ``TracerProvider`` — pass
    ``record_genai_spans(sampler)`` to it. ``configure()`` cannot: the distro builds the
    provider, and OpenTelemetry has no API to change a provider's sampler afterwards (every SDK
    ``Tracer`` keeps the sampler it was made with, and the distro's instrumentations made theirs
    inside ``configure_azure_monitor``). So the sampler's own methods are wrapped in place,
    except OpenTelemetry's module-level samplers (shared by every provider in the process),
    which are replaced: they decide whole traces alike, so tracers keeping them leave no orphan.
    """
    sampler = getattr(tracer_provider, "sampler", None)
    if sampler is None:
        return False
    if getattr(sampler, "_llm_insights_genai", False) or isinstance(sampler, GenAIRecordingSampler):
        return True
    if _is_shared(sampler):
        tracer_provider.sampler = record_genai_spans(sampler)
        return True
    wrapper = GenAIRecordingSampler(_Inner(sampler.should_sample, sampler.get_description))
    sampler.should_sample = wrapper.should_sample
    sampler.get_description = wrapper.get_description
    sampler._llm_insights_genai = True
    return True
