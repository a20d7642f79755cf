"""The telemetry contract: every name the SDK emits, and where it lands in Application Insights.

This module is the single source of truth shared by the SDK (which emits), the dashboards and
alert templates (which read) and the tests (which prove the two agree). Nothing else in the kit
writes a metric name, attribute key, event name or table column as a string literal.

Names follow the OpenTelemetry GenAI semantic conventions where they exist (imported from the
installed ``opentelemetry-semantic-conventions`` when it has them); kit-specific names live under
the ``llm_insights.`` namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

try:  # the incubating GenAI names; fall back to the published strings on older semconv releases
    from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as _g
    from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as _gm
except ImportError:  # pragma: no cover - exercised only with old semconv packages
    _g = None
    _gm = None


def _semconv(module: object, const: str, fallback: str) -> str:
    """The installed semconv constant when it exists, else the published string."""
    value = getattr(module, const, None) if module is not None else None
    return value if isinstance(value, str) else fallback


# ---------------------------------------------------------------------------------------------
# Attributes: the GenAI semantic conventions
# ---------------------------------------------------------------------------------------------
GEN_AI_OPERATION_NAME = _semconv(_g, "GEN_AI_OPERATION_NAME", "gen_ai.operation.name")
GEN_AI_PROVIDER_NAME = _semconv(_g, "GEN_AI_PROVIDER_NAME", "gen_ai.provider.name")
GEN_AI_SYSTEM = _semconv(_g, "GEN_AI_SYSTEM", "gen_ai.system")  # older name; Azure views read it
GEN_AI_REQUEST_MODEL = _semconv(_g, "GEN_AI_REQUEST_MODEL", "gen_ai.request.model")
GEN_AI_REQUEST_STREAM = _semconv(_g, "GEN_AI_REQUEST_STREAM", "gen_ai.request.stream")
GEN_AI_REQUEST_MAX_TOKENS = _semconv(_g, "GEN_AI_REQUEST_MAX_TOKENS", "gen_ai.request.max_tokens")
GEN_AI_REQUEST_TEMPERATURE = _semconv(
    _g, "GEN_AI_REQUEST_TEMPERATURE", "gen_ai.request.temperature"
)
GEN_AI_RESPONSE_MODEL = _semconv(_g, "GEN_AI_RESPONSE_MODEL", "gen_ai.response.model")
GEN_AI_RESPONSE_ID = _semconv(_g, "GEN_AI_RESPONSE_ID", "gen_ai.response.id")
GEN_AI_RESPONSE_FINISH_REASONS = _semconv(
    _g, "GEN_AI_RESPONSE_FINISH_REASONS", "gen_ai.response.finish_reasons"
)
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = _semconv(
    _g, "GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK", "gen_ai.response.time_to_first_chunk"
)
GEN_AI_INPUT_MESSAGES = _semconv(_g, "GEN_AI_INPUT_MESSAGES", "gen_ai.input.messages")
GEN_AI_OUTPUT_MESSAGES = _semconv(_g, "GEN_AI_OUTPUT_MESSAGES", "gen_ai.output.messages")
GEN_AI_DATA_SOURCE_ID = _semconv(_g, "GEN_AI_DATA_SOURCE_ID", "gen_ai.data_source.id")
GEN_AI_WORKFLOW_NAME = _semconv(_g, "GEN_AI_WORKFLOW_NAME", "gen_ai.workflow.name")
# Usage: tokens as billed
GEN_AI_TOKEN_TYPE = _semconv(_g, "GEN_AI_TOKEN_TYPE", "gen_ai.token.type")
GEN_AI_USAGE_INPUT_TOKENS = _semconv(_g, "GEN_AI_USAGE_INPUT_TOKENS", "gen_ai.usage.input_tokens")
GEN_AI_USAGE_OUTPUT_TOKENS = _semconv(
    _g, "GEN_AI_USAGE_OUTPUT_TOKENS", "gen_ai.usage.output_tokens"
)
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = _semconv(
    _g, "GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS", "gen_ai.usage.cache_read.input_tokens"
)
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = _semconv(  # semconv v1.40; inside input_tokens
    _g, "GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS", "gen_ai.usage.cache_creation.input_tokens"
)
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = _semconv(  # semconv v1.41; already inside output_tokens
    _g, "GEN_AI_USAGE_REASONING_OUTPUT_TOKENS", "gen_ai.usage.reasoning.output_tokens"
)
# Agents and tools
GEN_AI_AGENT_NAME = _semconv(_g, "GEN_AI_AGENT_NAME", "gen_ai.agent.name")
GEN_AI_AGENT_ID = _semconv(_g, "GEN_AI_AGENT_ID", "gen_ai.agent.id")
GEN_AI_AGENT_VERSION = _semconv(_g, "GEN_AI_AGENT_VERSION", "gen_ai.agent.version")
GEN_AI_AGENT_DESCRIPTION = _semconv(_g, "GEN_AI_AGENT_DESCRIPTION", "gen_ai.agent.description")
GEN_AI_CONVERSATION_ID = _semconv(_g, "GEN_AI_CONVERSATION_ID", "gen_ai.conversation.id")
GEN_AI_TOOL_NAME = _semconv(_g, "GEN_AI_TOOL_NAME", "gen_ai.tool.name")
GEN_AI_TOOL_TYPE = _semconv(_g, "GEN_AI_TOOL_TYPE", "gen_ai.tool.type")
GEN_AI_TOOL_CALL_ID = _semconv(_g, "GEN_AI_TOOL_CALL_ID", "gen_ai.tool.call.id")
GEN_AI_TOOL_DESCRIPTION = _semconv(_g, "GEN_AI_TOOL_DESCRIPTION", "gen_ai.tool.description")
GEN_AI_TOOL_CALL_ARGUMENTS = _semconv(
    _g, "GEN_AI_TOOL_CALL_ARGUMENTS", "gen_ai.tool.call.arguments"
)  # only with content capture on
GEN_AI_TOOL_CALL_RESULT = _semconv(_g, "GEN_AI_TOOL_CALL_RESULT", "gen_ai.tool.call.result")
# Evaluations (user feedback is one)
GEN_AI_EVALUATION_NAME = _semconv(_g, "GEN_AI_EVALUATION_NAME", "gen_ai.evaluation.name")
GEN_AI_EVALUATION_SCORE_VALUE = _semconv(
    _g, "GEN_AI_EVALUATION_SCORE_VALUE", "gen_ai.evaluation.score.value"
)
GEN_AI_EVALUATION_SCORE_LABEL = _semconv(
    _g, "GEN_AI_EVALUATION_SCORE_LABEL", "gen_ai.evaluation.score.label"
)
GEN_AI_EVALUATION_EXPLANATION = _semconv(
    _g, "GEN_AI_EVALUATION_EXPLANATION", "gen_ai.evaluation.explanation"
)

# ---------------------------------------------------------------------------------------------
# Attributes: general OpenTelemetry and Azure's own
# ---------------------------------------------------------------------------------------------
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"
ENDUSER_ID = "enduser.id"  # spans only
SESSION_ID = "session.id"  # spans only
# The outermost agent of a run, on every invoke_agent span: Azure's "Agents - Overview" workbook
# (microsoft/Application-Insights-Workbooks, Workbooks/UsageMetrics/Agents - Overview) shows
# "only main agents" as invoke_agent rows whose microsoft.gen_ai.main_agent.name == agent name.
ATTR_MAIN_AGENT_NAME = "microsoft.gen_ai.main_agent.name"
# Azure cost attributes read by Azure's own agent views (weighted by itemCount there)
MS_COST_INPUT = "microsoft.gen_ai.cost.input"
MS_COST_OUTPUT = "microsoft.gen_ai.cost.output"

# ---------------------------------------------------------------------------------------------
# Attributes: the kit's own (llm_insights.*)
# ---------------------------------------------------------------------------------------------
NS = "llm_insights"
# Span flags are set only when they say something (every span byte is ingested and billed):
# no total-cost attribute (microsoft.gen_ai.cost.input + .output is the total).
ATTR_DEPLOYMENT = f"{NS}.deployment"  # Azure deployment name; the request model elsewhere
# Azure deployment type (SKU name) from the deployment map; a metric dimension (few values)
ATTR_DEPLOYMENT_TYPE = f"{NS}.deployment.type"
ATTR_PROVISIONED = f"{NS}.provisioned"  # True only: a PTU deployment, billed by the hour
# Cost
ATTR_UNPRICED = f"{NS}.unpriced"  # True only, spans only: the model had no price
# Why a call has no (or only part of its) cost: "no price for model 'x' in genai-prices 0.2.3",
# "no rate for 120 input_audio tokens of 'x'". Spans only, set only on such calls.
ATTR_UNPRICED_REASON = f"{NS}.unpriced.reason"
ATTR_COST_PARTIAL = f"{NS}.cost.partial"  # True only: some reported tokens had no rate
# Which price data priced the call: "genai-prices 0.2.3" (the shipped file) or "override <ver>"
ATTR_PRICE_SOURCE = f"{NS}.price.source"
# False only: usage was never reported (unknown). Reported usage shows as the gen_ai.usage.*
# attributes themselves, so zero tokens (usage attributes = 0) != unknown (absent + this false).
ATTR_USAGE_KNOWN = f"{NS}.usage.known"
# True only, on an inference span another span of the same call is counted by (the kit's own, or
# the innermost one), or on a framework's invoke_agent span whose usage is the sum of its calls':
# its gen_ai.usage.* and microsoft.gen_ai.cost.* are not exported, so Azure's views, which sum
# them over dependencies, count each call's tokens and cost once.
ATTR_COUNTED_ELSEWHERE = f"{NS}.counted_elsewhere"
# Response
ATTR_REFUSAL = f"{NS}.response.refusal"  # True only (absent: not a refusal)
ATTR_HALLUCINATION_MARKER = f"{NS}.response.hallucination_marker"  # True only
ATTR_STREAM_CHUNKS = f"{NS}.stream.chunks"
# completed | closed | error | abandoned (never consumed/GC); closed/abandoned = closed early
ATTR_STREAM_END = f"{NS}.stream.end"
ATTR_CONTENT_TRUNCATED = f"{NS}.content.truncated"  # bool: captured content was cut to fit
ATTR_FILTER_CATEGORY = f"{NS}.content_filter.category"  # hate, sexual, violence, self_harm, ...
ATTR_FILTER_SEVERITY = f"{NS}.content_filter.severity"  # safe, low, medium, high, unknown
ATTR_FILTER_SOURCE = f"{NS}.content_filter.source"  # prompt | completion
ATTR_FILTER_FILTERED = f"{NS}.content_filter.filtered"  # "true" | "false"
# error.type again, on spans: the Azure Monitor exporter drops the standard `error.type` from
# span customDimensions (its _STANDARD_OPENTELEMETRY_HTTP_ATTRIBUTES), so span queries read this.
# Metrics keep `error.type`.
ATTR_ERROR_TYPE = f"{NS}.error.type"
# Retrieval and chain steps
ATTR_RETRIEVAL_NAME = f"{NS}.retrieval.name"
ATTR_RETRIEVAL_DOCUMENTS = f"{NS}.retrieval.documents"  # count, spans
ATTR_RETRIEVAL_TOP_SCORE = f"{NS}.retrieval.top_score"  # spans
ATTR_CHAIN_NAME = f"{NS}.chain.name"
# Run totals on the invoke_agent span (kit names: Azure's cost view sums gen_ai.usage.* and
# microsoft.gen_ai.cost.* over every span under an agent, so the run totals must not use them).
ATTR_AGENT_MODEL_CALLS = f"{NS}.agent.model_calls"
ATTR_AGENT_TOOL_CALLS = f"{NS}.agent.tool_calls"
# input + output tokens; absent when a call's usage is unknown
ATTR_AGENT_TOKENS = f"{NS}.agent.tokens"
ATTR_AGENT_COST = f"{NS}.agent.cost"  # USD; absent when a call's cost is unknown (never 0)
# Kept spans: "error" | "slow", only on a span the head sampler dropped and the kit kept (failed,
# or slower than the slow threshold; see _keep): span panels tell kept from head-sampled spans
ATTR_KEPT_FOR = f"{NS}.kept_for"
# Everything else
ATTR_TENANT_ID = f"{NS}.tenant.id"  # spans only, never a metric dimension
ATTR_BUCKET_LE = f"{NS}.bucket.le"  # upper bound of a bucket counter's bucket ("+Inf" last)
ATTR_SDK_COMPONENT = f"{NS}.sdk.component"  # where an internal SDK failure happened

# ---------------------------------------------------------------------------------------------
# Attribute values
# ---------------------------------------------------------------------------------------------
# gen_ai.operation.name
OPERATION_CHAT = "chat"
OPERATION_EMBEDDINGS = "embeddings"
OPERATION_TEXT_COMPLETION = "text_completion"
OPERATION_EXECUTE_TOOL = "execute_tool"
OPERATION_RETRIEVAL = "retrieval"
OPERATION_INVOKE_AGENT = "invoke_agent"
OPERATION_CHAIN = "chain"  # kit-specific: a user-defined pipeline step grouping other operations
# The operations that are LLM calls (gen_ai.operation.name of an LLMCall span and its metrics),
# as opposed to retrieval, tool, chain and agent spans.
LLM_OPERATIONS: tuple[str, ...] = (OPERATION_CHAT, OPERATION_TEXT_COMPLETION, OPERATION_EMBEDDINGS)

# gen_ai.provider.name / gen_ai.system
PROVIDER_OPENAI = "openai"
PROVIDER_AZURE_OPENAI = "azure.ai.openai"

# gen_ai.token.type
TOKEN_TYPE_INPUT = "input"
TOKEN_TYPE_OUTPUT = "output"

# gen_ai.tool.type: function | extension | datastore
TOOL_TYPE_FUNCTION = "function"

# error.type besides HTTP status codes ("400", "429", "500", ...) and exception class names
ERROR_TYPE_CONTENT_FILTER = "content_filter"  # a prompt blocked by Azure content safety (HTTP 400)
ERROR_TYPE_OTHER = "_OTHER"
# a Responses API response with status "failed" (HTTP 200; its error.code, when given, is used)
ERROR_TYPE_RESPONSE_FAILED = "response_failed"
ERROR_TYPE_THROTTLED = "429"  # a throttled call: the HTTP status, as a string

# llm_insights.kept_for
KEPT_FOR_ERROR = "error"
KEPT_FOR_SLOW = "slow"
FINISH_REASON_MAX_CHARS = 64  # a longer finish reason (no real one is) is cut to this

# llm_insights.stream.end
STREAM_END_COMPLETED = "completed"
STREAM_END_CLOSED = "closed"  # closed by the app before the end
STREAM_END_ERROR = "error"
STREAM_END_ABANDONED = "abandoned"  # garbage-collected without being exhausted or closed

# llm_insights.content_filter.source
FILTER_SOURCE_PROMPT = "prompt"
FILTER_SOURCE_COMPLETION = "completion"

# llm_insights.sdk.component of a usage count the provider or app reported that could not be
# used (negative, fractional, NaN/inf, string, bool): recorded as unknown, logged once per field
SDK_COMPONENT_USAGE_INVALID = "usage.invalid"
# llm_insights.sdk.component of a price file or mapping ignored for a unit or currency the SDK
# cannot convert exactly (allowed: PRICE_UNITS, PRICE_CURRENCY)
SDK_COMPONENT_PRICES_INVALID = "prices.invalid"
# llm_insights.sdk.component of a finished call the background emit queue had no room for: its
# caller recorded it itself (nothing is dropped; the count says the caller waited for it)
SDK_COMPONENT_OFFLOAD_FULL = "offload.queue_full"

# llm_insights.deployment.type: Azure OpenAI deployment SKU names (learn.microsoft.com:
# azure/ai-foundry/openai/how-to/deployment-types; the `sku.name` of
# Microsoft.CognitiveServices/accounts/deployments)
DEPLOYMENT_TYPE_GLOBAL_STANDARD = "GlobalStandard"
DEPLOYMENT_TYPE_DATA_ZONE_STANDARD = "DataZoneStandard"
DEPLOYMENT_TYPE_STANDARD = "Standard"  # regional
DEPLOYMENT_TYPE_GLOBAL_BATCH = "GlobalBatch"
DEPLOYMENT_TYPE_DATA_ZONE_BATCH = "DataZoneBatch"
DEPLOYMENT_TYPES_PROVISIONED: tuple[str, ...] = (
    "GlobalProvisionedManaged",
    "DataZoneProvisionedManaged",
    "ProvisionedManaged",
)
DEPLOYMENT_TYPES: tuple[str, ...] = (
    DEPLOYMENT_TYPE_GLOBAL_STANDARD,
    DEPLOYMENT_TYPE_DATA_ZONE_STANDARD,
    DEPLOYMENT_TYPE_STANDARD,
    DEPLOYMENT_TYPE_GLOBAL_BATCH,
    DEPLOYMENT_TYPE_DATA_ZONE_BATCH,
    *DEPLOYMENT_TYPES_PROVISIONED,
)

# ---------------------------------------------------------------------------------------------
# Metric dimensions: allow-lists, so cardinality is bounded (gen_ai.system stays on spans,
# where the exporter types the dependency "GenAI | <system>"; on metrics it would repeat
# gen_ai.provider.name in every series and cost every measurement)
# ---------------------------------------------------------------------------------------------
MODEL_DIMENSIONS: tuple[str, ...] = (
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    SERVER_ADDRESS,
    ATTR_DEPLOYMENT,
    ATTR_DEPLOYMENT_TYPE,  # PTU calls apart
)
SPAN_ONLY_ATTRIBUTES: tuple[str, ...] = (
    ENDUSER_ID,
    SESSION_ID,
    ATTR_TENANT_ID,
    GEN_AI_RESPONSE_ID,
    GEN_AI_CONVERSATION_ID,  # agents: conversation ids stay on spans
)
# Metric dimensions whose values come from outside the kit (models, deployments, hosts, names the
# app picks, categories a service returns) are capped: after MAX_DIMENSION_VALUES distinct values
# of one of them in a process, further new values are recorded as OVERFLOW_VALUE, so ad-hoc model
# or deployment names cannot explode the number of customMetrics series. Spans keep real values.
MAX_DIMENSION_VALUES = 50
OVERFLOW_VALUE = "other"
CAPPED_DIMENSIONS: tuple[str, ...] = (
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    ATTR_DEPLOYMENT,
    SERVER_ADDRESS,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_OPERATION_NAME,
    GEN_AI_TOOL_NAME,
    ATTR_RETRIEVAL_NAME,
    GEN_AI_EVALUATION_NAME,
    ATTR_FILTER_CATEGORY,
    ERROR_TYPE,
    ATTR_SDK_COMPONENT,
    GEN_AI_AGENT_NAME,  # agents: app-chosen names, capped like models
)

# ---------------------------------------------------------------------------------------------
# Metric buckets
# ---------------------------------------------------------------------------------------------
# Recommended by the GenAI conventions (histogram views; Application Insights drops them).
TOKEN_BUCKETS: tuple[float, ...] = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
DURATION_BUCKETS: tuple[float, ...] = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TIME_PER_CHUNK_BUCKETS: tuple[float, ...] = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
)  # fmt: skip

# Bucket *counters* survive in Application Insights (histogram buckets do not), so percentiles that
# dashboards show and alerts compare with thresholds come from them. A percentile read from a
# bucket counter is exact to its bucket: every threshold a percentile alert may use must be one of
# these bounds (the alert validator enforces it). The last bucket is "+Inf".
LATENCY_PERCENTILE_BOUNDS: tuple[float, ...] = (
    0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 45, 60, 120,
)  # fmt: skip
TTFT_PERCENTILE_BOUNDS: tuple[float, ...] = (
    0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 8, 10, 15, 30,
)  # fmt: skip
RESPONSE_LENGTH_BOUNDS: tuple[float, ...] = (
    0, 50, 100, 200, 500, 1000, 2000, 4000, 8000, 16000,
)  # fmt: skip
RETRIEVAL_SCORE_BOUNDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
INF_BOUND = "+Inf"


def bucket_label(bound: float) -> str:
    """The ``llm_insights.bucket.le`` value for a bound: shortest exact decimal ("0.5", "10")."""
    return format(float(bound), "g") if bound == bound and bound != float("inf") else INF_BOUND


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------
Instrument = Literal["histogram", "counter"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric the SDK emits: its instrument, unit, allowed dimensions and bucket bounds.

    ``bounds`` for a histogram are the explicit bucket boundaries of its view; for a bucket
    counter (name ending ``.buckets``) they are the ``llm_insights.bucket.le`` values it uses.
    """

    name: str
    instrument: Instrument
    unit: str
    description: str
    dimensions: tuple[str, ...]
    bounds: tuple[float, ...] = ()


def _name(module: object, const: str, fallback: str) -> str:
    return _semconv(module, const, fallback)


TOKEN_USAGE = MetricSpec(
    _name(_gm, "GEN_AI_CLIENT_TOKEN_USAGE", "gen_ai.client.token.usage"),
    "histogram",
    "{token}",
    "Tokens used per call, by token type (input/output).",
    (*MODEL_DIMENSIONS, GEN_AI_TOKEN_TYPE),
    TOKEN_BUCKETS,
)
OPERATION_DURATION = MetricSpec(
    _name(_gm, "GEN_AI_CLIENT_OPERATION_DURATION", "gen_ai.client.operation.duration"),
    "histogram",
    "s",
    "Duration of each LLM call; error.type is set on failures. valueCount counts calls exactly.",
    (*MODEL_DIMENSIONS, ERROR_TYPE),
    DURATION_BUCKETS,
)
TIME_TO_FIRST_CHUNK = MetricSpec(
    _name(
        _gm,
        "GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK",
        "gen_ai.client.operation.time_to_first_chunk",
    ),
    "histogram",
    "s",
    "Time from request to the first streamed chunk.",
    MODEL_DIMENSIONS,
    DURATION_BUCKETS,
)
TIME_PER_OUTPUT_CHUNK = MetricSpec(
    _name(
        _gm,
        "GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK",
        "gen_ai.client.operation.time_per_output_chunk",
    ),
    "histogram",
    "s",
    "Time between streamed chunks after the first.",
    MODEL_DIMENSIONS,
    TIME_PER_CHUNK_BUCKETS,
)
DURATION_BUCKET_COUNTS = MetricSpec(
    f"{NS}.client.operation.duration.buckets",
    "counter",
    "{call}",
    "Calls per duration bucket (non-cumulative; le = bucket upper bound) for exact-to-bucket "
    "percentiles, which Application Insights cannot compute from histograms.",
    (*MODEL_DIMENSIONS, ERROR_TYPE, ATTR_BUCKET_LE),
    LATENCY_PERCENTILE_BOUNDS,
)
TTFT_BUCKET_COUNTS = MetricSpec(
    f"{NS}.client.operation.time_to_first_chunk.buckets",
    "counter",
    "{call}",
    "Streamed calls per time-to-first-chunk bucket (non-cumulative).",
    (*MODEL_DIMENSIONS, ATTR_BUCKET_LE),
    TTFT_PERCENTILE_BOUNDS,
)
COST = MetricSpec(
    f"{NS}.client.cost",
    "counter",
    "USD",
    "Cost in US dollars from the price table, by token type. Unpriced calls add nothing here.",
    (*MODEL_DIMENSIONS, GEN_AI_TOKEN_TYPE, ATTR_PRICE_SOURCE),  # which price data priced it
)
UNPRICED_CALLS = MetricSpec(
    f"{NS}.client.unpriced_calls",
    "counter",
    "{call}",
    "Calls to a model missing from the price table (their cost is unknown, not zero).",
    MODEL_DIMENSIONS,
)
CONTENT_FILTER_HITS = MetricSpec(
    f"{NS}.content_filter.hits",
    "counter",
    "{hit}",
    "Content-safety results at or above 'low' severity, or that filtered content.",
    (
        *MODEL_DIMENSIONS,
        ATTR_FILTER_CATEGORY,
        ATTR_FILTER_SEVERITY,
        ATTR_FILTER_SOURCE,
        ATTR_FILTER_FILTERED,
    ),
)
RESPONSE_LENGTH = MetricSpec(
    f"{NS}.response.length",
    "counter",
    "{char}",
    "Characters of the evaluated responses, summed (the mean length's numerator). Responses are "
    "counted by the response-length bucket counter (its sum over buckets is the denominator of "
    "the mean length and of the refusal and hallucination-marker rates).",
    MODEL_DIMENSIONS,
)
RESPONSE_LENGTH_BUCKET_COUNTS = MetricSpec(
    f"{NS}.response.length.buckets",
    "counter",
    "{response}",
    "Evaluated responses per length bucket (non-cumulative), for the length distribution.",
    (*MODEL_DIMENSIONS, ATTR_BUCKET_LE),
    RESPONSE_LENGTH_BOUNDS,
)
REFUSALS = MetricSpec(
    f"{NS}.response.refusals",
    "counter",
    "{response}",
    "Evaluated responses that match a refusal pattern.",
    MODEL_DIMENSIONS,
)
HALLUCINATION_MARKERS = MetricSpec(
    f"{NS}.response.hallucination_markers",
    "counter",
    "{response}",
    "Evaluated responses that carry a hallucination marker (unsupported-claim phrasing).",
    MODEL_DIMENSIONS,
)
RETRIEVAL_DURATION = MetricSpec(
    f"{NS}.retrieval.duration",
    "histogram",
    "s",
    "Duration of each retrieval step; valueCount counts retrievals.",
    (ATTR_RETRIEVAL_NAME, ERROR_TYPE),
    DURATION_BUCKETS,
)
RETRIEVAL_DOCUMENTS = MetricSpec(
    f"{NS}.retrieval.documents",
    "histogram",
    "{document}",
    "Documents returned per retrieval.",
    (ATTR_RETRIEVAL_NAME,),
    (0, 1, 2, 3, 5, 10, 20, 50, 100),
)
RETRIEVAL_EMPTY = MetricSpec(
    f"{NS}.retrieval.empty",
    "counter",
    "{retrieval}",
    "Retrievals that returned no document.",
    (ATTR_RETRIEVAL_NAME,),
)
RETRIEVAL_TOP_SCORE = MetricSpec(
    f"{NS}.retrieval.top_score",
    "histogram",
    "1",
    "Best relevance score per non-empty retrieval.",
    (ATTR_RETRIEVAL_NAME,),
    RETRIEVAL_SCORE_BOUNDS,
)
RETRIEVAL_TOP_SCORE_BUCKET_COUNTS = MetricSpec(
    f"{NS}.retrieval.top_score.buckets",
    "counter",
    "{retrieval}",
    "Non-empty retrievals per top-score bucket (non-cumulative), for the score distribution.",
    (ATTR_RETRIEVAL_NAME, ATTR_BUCKET_LE),
    RETRIEVAL_SCORE_BOUNDS,
)
TOOL_DURATION = MetricSpec(
    f"{NS}.tool.duration",
    "histogram",
    "s",
    "Duration of each tool call; valueCount counts calls, error.type marks failures; "
    "gen_ai.agent.name is the agent run the call belongs to (empty outside agents).",
    (GEN_AI_TOOL_NAME, ERROR_TYPE, GEN_AI_AGENT_NAME),
    DURATION_BUCKETS,
)
FEEDBACK_SCORE = MetricSpec(
    f"{NS}.feedback.score",
    "histogram",
    "1",
    "User feedback scores >= 0 (the app's scale, e.g. 0/1 thumbs or 1..5 stars). OpenTelemetry "
    "histograms reject negative values: a negative score is counted only in "
    "llm_insights.feedback.score.buckets.",
    (),
    (-1, 0, 1, 2, 3, 4, 5),
)
FEEDBACK_BUCKET_COUNTS = MetricSpec(
    f"{NS}.feedback.score.buckets",
    "counter",
    "{feedback}",
    "Every feedback score per bucket (non-cumulative; le = bucket upper bound, negatives "
    "included): counts of thumbs-down/up and the score distribution.",
    (ATTR_BUCKET_LE,),
    (-1, 0, 1, 2, 3, 4, 5),
)
EVALUATION_SCORE = MetricSpec(
    f"{NS}.evaluation.score",
    "histogram",
    "1",
    "Scores from evaluators (LLM judges, heuristics), by evaluation name.",
    (GEN_AI_EVALUATION_NAME, GEN_AI_RESPONSE_MODEL),
    (0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1),
)
KEPT_DROPPED = MetricSpec(
    f"{NS}.kept.dropped",
    "counter",
    "{span}",
    "Failed or slow GenAI spans the head sampler dropped and the per-minute cap did not keep "
    "(llm_insights.kept_for says why each would have been kept).",
    (ATTR_KEPT_FOR, ERROR_TYPE, GEN_AI_OPERATION_NAME, GEN_AI_REQUEST_MODEL, GEN_AI_TOOL_NAME,
     GEN_AI_AGENT_NAME),
)  # fmt: skip
SDK_ERRORS = MetricSpec(
    f"{NS}.sdk.errors",
    "counter",
    "{error}",
    "Failures inside the SDK's own instrumentation (caught, logged once, counted).",
    (ATTR_SDK_COMPONENT,),
)

# Agent runs: per-run metrics of invoke_agent spans
AGENT_DURATION_BOUNDS: tuple[float, ...] = (
    0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600,
)  # fmt: skip
AGENT_STEP_BOUNDS: tuple[float, ...] = (
    0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 75, 100,
)  # fmt: skip
AGENT_COST_BOUNDS: tuple[float, ...] = (
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10,
)  # fmt: skip
AGENT_DIMENSIONS: tuple[str, ...] = (GEN_AI_AGENT_NAME,)

AGENT_DURATION = MetricSpec(
    f"{NS}.agent.duration",
    "histogram",
    "s",
    "Duration of each agent run (invoke_agent); valueCount counts runs, error.type marks failed "
    "runs (an exception left the agent).",
    (GEN_AI_AGENT_NAME, ERROR_TYPE),
    DURATION_BUCKETS,
)
AGENT_DURATION_BUCKET_COUNTS = MetricSpec(
    f"{NS}.agent.duration.buckets",
    "counter",
    "{run}",
    "Agent runs per duration bucket (non-cumulative), for exact-to-bucket run percentiles.",
    (GEN_AI_AGENT_NAME, ERROR_TYPE, ATTR_BUCKET_LE),
    AGENT_DURATION_BOUNDS,
)
AGENT_MODEL_CALLS = MetricSpec(
    f"{NS}.agent.model_calls",
    "histogram",
    "{call}",
    "LLM calls per agent run (nested agents' calls included), failed calls too.",
    AGENT_DIMENSIONS,
    AGENT_STEP_BOUNDS,
)
AGENT_TOOL_CALLS = MetricSpec(
    f"{NS}.agent.tool_calls",
    "histogram",
    "{call}",
    "Tool calls per agent run (nested agents' calls included).",
    AGENT_DIMENSIONS,
    AGENT_STEP_BOUNDS,
)
AGENT_STEPS = MetricSpec(
    f"{NS}.agent.steps",
    "histogram",
    "{step}",
    "Steps (LLM calls + tool calls) per agent run; valueMax is the longest run of the interval.",
    AGENT_DIMENSIONS,
    AGENT_STEP_BOUNDS,
)
AGENT_STEPS_BUCKET_COUNTS = MetricSpec(
    f"{NS}.agent.steps.buckets",
    "counter",
    "{run}",
    "Agent runs per steps bucket (non-cumulative), for the steps-per-run distribution.",
    (GEN_AI_AGENT_NAME, ATTR_BUCKET_LE),
    AGENT_STEP_BOUNDS,
)
AGENT_TOKENS = MetricSpec(
    f"{NS}.agent.tokens",
    "histogram",
    "{token}",
    "Tokens per agent run by token type; only runs whose every LLM call reported usage.",
    (GEN_AI_AGENT_NAME, GEN_AI_TOKEN_TYPE),
    TOKEN_BUCKETS,
)
AGENT_COST = MetricSpec(
    f"{NS}.agent.cost",
    "histogram",
    "USD",
    "Cost per agent run (the sum of its LLM calls' cost); only runs whose every call was priced. "
    "valueMax is the most expensive run of the interval.",
    AGENT_DIMENSIONS,
    AGENT_COST_BOUNDS,
)
AGENT_COST_UNKNOWN = MetricSpec(
    f"{NS}.agent.cost_unknown_runs",
    "counter",
    "{run}",
    "Agent runs with an LLM call whose usage or price is unknown: their cost is unknown, not "
    "zero, and they are absent from llm_insights.agent.cost.",
    AGENT_DIMENSIONS,
)
AGENT_METRICS: tuple[MetricSpec, ...] = (
    AGENT_DURATION,
    AGENT_DURATION_BUCKET_COUNTS,
    AGENT_MODEL_CALLS,
    AGENT_TOOL_CALLS,
    AGENT_STEPS,
    AGENT_STEPS_BUCKET_COUNTS,
    AGENT_TOKENS,
    AGENT_COST,
    AGENT_COST_UNKNOWN,
)

METRICS: tuple[MetricSpec, ...] = (
    TOKEN_USAGE,
    OPERATION_DURATION,
    TIME_TO_FIRST_CHUNK,
    TIME_PER_OUTPUT_CHUNK,
    DURATION_BUCKET_COUNTS,
    TTFT_BUCKET_COUNTS,
    COST,
    UNPRICED_CALLS,
    CONTENT_FILTER_HITS,
    RESPONSE_LENGTH,
    RESPONSE_LENGTH_BUCKET_COUNTS,
    REFUSALS,
    HALLUCINATION_MARKERS,
    RETRIEVAL_DURATION,
    RETRIEVAL_DOCUMENTS,
    RETRIEVAL_EMPTY,
    RETRIEVAL_TOP_SCORE,
    RETRIEVAL_TOP_SCORE_BUCKET_COUNTS,
    TOOL_DURATION,
    FEEDBACK_SCORE,
    FEEDBACK_BUCKET_COUNTS,
    EVALUATION_SCORE,
    SDK_ERRORS,
    KEPT_DROPPED,
    *AGENT_METRICS,
)

# ---------------------------------------------------------------------------------------------
# Events (span events → traces; log records with microsoft.custom_event.name → customEvents)
# ---------------------------------------------------------------------------------------------
MS_CUSTOM_EVENT_NAME = "microsoft.custom_event.name"
EVENT_EVALUATION_RESULT = "gen_ai.evaluation.result"  # customEvents; feedback is one evaluation
EVALUATION_USER_FEEDBACK = "user_feedback"  # gen_ai.evaluation.name of user feedback
EVENT_CONTENT_FILTER = f"{NS}.content_filter"  # span event on the LLM span → traces
EVENT_FIRST_CHUNK = f"{NS}.first_chunk"  # span event at the first streamed chunk → traces

# ---------------------------------------------------------------------------------------------
# Settings the SDK reads (environment variables, sizes, price units)
# ---------------------------------------------------------------------------------------------
ENV_CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
ENV_CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
ENV_LOCAL_ENDPOINT = "LLM_INSIGHTS_LOCAL_ENDPOINT"  # http://127.0.0.1:PORT of a local ingest server
ENV_PRICES_FILE = "LLM_INSIGHTS_PRICES_FILE"  # JSON price overrides
# JSON {"<deployment>": {"model": "<model>", "type": "<DEPLOYMENT_TYPES>"}}; configure(deployments=)
ENV_PRICING_DEPLOYMENTS = "LLM_INSIGHTS_PRICING_DEPLOYMENTS"
ENV_ENVIRONMENT = "LLM_INSIGHTS_ENVIRONMENT"  # deployment.environment when not passed
# true: record gen_ai.client.operation.time_per_output_chunk for every streamed chunk after the
# first (off by default: each record costs the OpenTelemetry SDK ~25 µs per chunk; see README)
ENV_CHUNK_METRICS = "LLM_INSIGHTS_CHUNK_METRICS"
# Kept spans (_keep): at most this many per 60 s per reason (error type, or slow) and model (tool
# or agent name for tool and agent spans), per process; the rest are counted in KEPT_DROPPED
ENV_KEEP_PER_MINUTE = "LLM_INSIGHTS_KEEP_PER_MINUTE"
DEFAULT_KEEP_PER_MINUTE = 30
# an LLM call longer than this (seconds) is slow; the stacks hand the app their
# llm-latency-p95-high threshold, and this default is that rule's (alerts/latency.yaml)
ENV_KEEP_SLOW_SECONDS = "LLM_INSIGHTS_KEEP_SLOW_SECONDS"
DEFAULT_KEEP_SLOW_SECONDS = 5.0
# Azure Monitor exporter switches the SDK sets for loopback runs (demo, tests, benchmarks):
# Microsoft's own statsbeat, SDK-stats and control-plane endpoints are not reachable there.
ENV_STATSBEAT_DISABLED_ALL = "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL"
ENV_SDKSTATS_DISABLED = "APPLICATIONINSIGHTS_SDKSTATS_DISABLED"
ENV_CONTROLPLANE_DISABLED = "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED"
# OpenTelemetry's resource detector list; the distro defaults it to the Azure App Service and
# Azure VM detectors, and the VM one calls the instance metadata service (169.254.169.254).
ENV_OTEL_RESOURCE_DETECTORS = "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS"
# Resource attributes naming the environment (semconv: ``.name`` is current, the bare key older).
RESOURCE_DEPLOYMENT_ENVIRONMENT = "deployment.environment"
RESOURCE_DEPLOYMENT_ENVIRONMENT_NAME = "deployment.environment.name"
LOCAL_INSTRUMENTATION_KEY = "00000000-0000-4000-8000-000000000001"
# Captured content is cut so that each content attribute stays well below the exporter's 8,192
# characters per property value; usage attributes are set before content ones.
CONTENT_MAX_CHARS = 4096
PRICE_CURRENCY = "USD"
PRICE_UNITS = {"per 1K tokens": 1, "per 1M tokens": 1000}  # unit -> divisor to USD per 1K

# ---------------------------------------------------------------------------------------------
# Tables: where the telemetry lands in the classic Application Insights tables
# (component-scoped queries; their columns, which only the kit needs, are in
# ``llm_insights_kit.tables``)
# ---------------------------------------------------------------------------------------------
TABLE_LLM_SPANS = "dependencies"  # CLIENT spans: LLM calls, retrieval, tools, chains (INTERNAL)
TABLE_SERVER_SPANS = "requests"  # the app's incoming requests (SERVER spans)
TABLE_METRICS = "customMetrics"
TABLE_EVENTS = "customEvents"
TABLE_SPAN_EVENTS = "traces"
TABLE_EXCEPTIONS = "exceptions"

__all__ = [n for n in dir() if n.isupper() or n in {"MetricSpec", "bucket_label"}]
