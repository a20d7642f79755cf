"""One table of GenAI attribute names per semantic-conventions release, 1.28 to today.

Spans from other instrumentations carry the names of whatever release they were written
against: ``gen_ai.system`` until 1.36, ``gen_ai.provider.name`` since 1.37 (and ``az.ai.openai``
became ``azure.ai.openai``), cache-read and cache-creation tokens since 1.40, the time to first
chunk and reasoning tokens on the span since 1.41; pre-1.27 usage names
(``gen_ai.usage.prompt_tokens``) still come from some instrumentations. :func:`read` reads
any of them into the kit's own (today's) field names, so the span processor
(``_span_metrics``) records the same metrics whatever release a span follows. Values are read
as the conventions mean them: an openai exception class as ``error.type`` is its HTTP status,
a URL as ``server.address`` its host.

Sources: open-telemetry/semantic-conventions CHANGELOG.md and docs/gen-ai/ per release tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from . import contract as c

# the fields the span processor reads (keys of read()'s answer)
OPERATION = "operation"
PROVIDER = "provider"
REQUEST_MODEL = "request_model"
RESPONSE_MODEL = "response_model"
INPUT_TOKENS = "input_tokens"
OUTPUT_TOKENS = "output_tokens"
CACHED_INPUT_TOKENS = "cache_read_input_tokens"  # field names of usage: _cost.Usage's
CACHE_CREATION_INPUT_TOKENS = "cache_creation_input_tokens"
REASONING_OUTPUT_TOKENS = "reasoning_output_tokens"
TIME_TO_FIRST_CHUNK = "time_to_first_chunk"
ERROR_TYPE = "error_type"
SERVER_ADDRESS = "server_address"

_BASE_1_28: dict[str, str | None] = {
    OPERATION: "gen_ai.operation.name",
    PROVIDER: "gen_ai.system",
    REQUEST_MODEL: "gen_ai.request.model",
    RESPONSE_MODEL: "gen_ai.response.model",
    INPUT_TOKENS: "gen_ai.usage.input_tokens",
    OUTPUT_TOKENS: "gen_ai.usage.output_tokens",
    CACHED_INPUT_TOKENS: None,
    CACHE_CREATION_INPUT_TOKENS: None,
    REASONING_OUTPUT_TOKENS: None,
    TIME_TO_FIRST_CHUNK: None,
    ERROR_TYPE: "error.type",
    SERVER_ADDRESS: "server.address",
}
# what each release changed (releases not listed changed none of the fields above)
_CHANGES: dict[str, dict[str, str | None]] = {
    "1.28": {},
    "1.29": {},
    "1.30": {},
    "1.31": {},
    "1.32": {},
    "1.33": {},
    "1.34": {},
    "1.35": {},
    "1.36": {},
    "1.37": {PROVIDER: "gen_ai.provider.name"},
    "1.38": {},
    "1.39": {},
    "1.40": {
        CACHED_INPUT_TOKENS: "gen_ai.usage.cache_read.input_tokens",
        CACHE_CREATION_INPUT_TOKENS: "gen_ai.usage.cache_creation.input_tokens",
    },
    "1.41": {
        TIME_TO_FIRST_CHUNK: "gen_ai.response.time_to_first_chunk",
        REASONING_OUTPUT_TOKENS: "gen_ai.usage.reasoning.output_tokens",
    },
}


def _releases() -> dict[str, dict[str, str | None]]:
    out: dict[str, dict[str, str | None]] = {}
    current = dict(_BASE_1_28)
    for release, changes in _CHANGES.items():
        current = {**current, **changes}
        out[release] = current
    return out


#: release -> field -> attribute name in that release (None: the release has no such attribute)
RELEASES: dict[str, dict[str, str | None]] = _releases()

# Names from before 1.28 that instrumentations still emit (OpenLLMetry, older openai-v2).
_DEPRECATED: dict[str, tuple[str, ...]] = {
    INPUT_TOKENS: ("gen_ai.usage.prompt_tokens",),
    OUTPUT_TOKENS: ("gen_ai.usage.completion_tokens",),
}

#: field -> every attribute name it has had, newest first (the order read() tries them in)
NAMES: dict[str, tuple[str, ...]] = {
    field: tuple(
        dict.fromkeys(
            [
                *(
                    RELEASES[r][field]
                    for r in reversed(list(RELEASES))
                    if RELEASES[r][field] is not None
                ),
                *_DEPRECATED.get(field, ()),
            ]
        )
    )  # type: ignore[misc]
    for field in _BASE_1_28
}

# provider values renamed in 1.37 (gen_ai.system -> gen_ai.provider.name)
PROVIDER_VALUES: dict[str, str] = {
    "az.ai.openai": c.PROVIDER_AZURE_OPENAI,
    "az.ai.inference": "azure.ai.inference",
}

# error.type values of instrumentations that record the openai client's exception class: each
# of these classes is raised for exactly one HTTP status (openai-python src/openai/_exceptions.py,
# ``status_code: Literal[...]``), and the kit's metrics, panels and rules use the status
# ("429" is throttling). InternalServerError stands for any status >= 500, so it stays as is.
# Instrumentations write the class three ways: ``openai.RateLimitError`` (genai-openai),
# ``<class 'openai.RateLimitError'>`` (openai-v2 2.4b0), ``RateLimitError`` (OpenLLMetry); the
# bare names are the same statuses in every Stainless-generated client (openai, anthropic).
ERROR_TYPE_VALUES: dict[str, str] = {
    form.format(module=module, cls=cls): status
    for module in ("openai", "openai._exceptions")
    for form in ("{module}.{cls}", "<class '{module}.{cls}'>", "{cls}")
    for cls, status in (
        ("BadRequestError", "400"),
        ("AuthenticationError", "401"),
        ("PermissionDeniedError", "403"),
        ("NotFoundError", "404"),
        ("ConflictError", "409"),
        ("UnprocessableEntityError", "422"),
        ("RateLimitError", c.ERROR_TYPE_THROTTLED),
    )
}

#: operation names of one model call (inference or embeddings) in any release
INFERENCE_OPERATIONS: frozenset[str] = frozenset(
    {*c.LLM_OPERATIONS, "generate_content"}  # generate_content: since 1.34
)

#: every attribute name read() may read, for a cheap "is this a GenAI span" test
ALL_NAMES: frozenset[str] = frozenset(n for names in NAMES.values() for n in names)
#: attribute names that carry one call's tokens or cost (what a duplicate span must not export)
USAGE_AND_COST_NAMES: tuple[str, ...] = (
    *NAMES[INPUT_TOKENS],
    *NAMES[OUTPUT_TOKENS],
    *NAMES[CACHED_INPUT_TOKENS],
    *NAMES[CACHE_CREATION_INPUT_TOKENS],
    *NAMES[REASONING_OUTPUT_TOKENS],
    c.MS_COST_INPUT,
    c.MS_COST_OUTPUT,
)


#: the operations a GenAI span's name starts with (``{gen_ai.operation.name} {target}``, the
#: conventions' span name): how a span that starts without attributes is known as GenAI
NAMED_OPERATIONS: frozenset[str] = frozenset(
    {
        *INFERENCE_OPERATIONS,
        c.OPERATION_EXECUTE_TOOL,
        c.OPERATION_INVOKE_AGENT,
        "create_agent",
        "invoke_workflow",
    }
)


def operation_of_name(name: Any) -> str | None:
    """The operation a span's name says it is (``chat gpt-4o``, ``invoke_agent triage``), if it
    is named the conventions' way; None otherwise."""
    if not isinstance(name, str) or not name:
        return None
    op = name.split(" ", 1)[0]
    return op if op in NAMED_OPERATIONS else None


def host_of(address: Any) -> Any:
    """``server.address`` as the conventions define it, a host: a URL some frameworks put there
    (``https://x.openai.azure.com/``) becomes its host name; anything else is unchanged."""
    if isinstance(address, str) and "://" in address:
        try:
            return urlsplit(address).hostname or address
        except ValueError:
            return address
    return address


GROUP_INFERENCE = "inference"
GROUP_TOOL = "tool"
GROUP_AGENT = "agent"


def group_of(operation: str | None) -> str | None:
    """Which calls nest as one: model calls (inference), tool calls; agent runs; None: none."""
    if operation in INFERENCE_OPERATIONS:
        return GROUP_INFERENCE
    if operation == c.OPERATION_EXECUTE_TOOL:
        return GROUP_TOOL
    return GROUP_AGENT if operation == c.OPERATION_INVOKE_AGENT else None


def plain(value: Any) -> Any:
    """*value* as a plain ``str`` when it is a ``str`` subclass (Agent Framework sets its enum
    members, ``class OtelAttr(str, Enum)``, as attribute values), else unchanged: metric
    dimensions take plain scalars only."""
    return str.__str__(value) if isinstance(value, str) and type(value) is not str else value


def operation_of(attrs: Mapping[str, Any] | None) -> str | None:
    """``gen_ai.operation.name`` of a span's attributes (None: not a GenAI span)."""
    if not attrs:
        return None
    op = attrs.get(c.GEN_AI_OPERATION_NAME)
    return plain(op) if isinstance(op, str) and op else None


def read(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of *attrs*, whatever release named them (the newest name present wins);
    absent fields are absent. Provider values are today's (``az.ai.openai`` becomes
    ``azure.ai.openai``); an openai exception class as error.type becomes its HTTP status."""
    out: dict[str, Any] = {}
    for field, names in NAMES.items():
        for name in names:
            value = attrs.get(name)
            if value is not None:
                out[field] = plain(value)
                break
    error = out.get(ERROR_TYPE)
    if isinstance(error, str):
        out[ERROR_TYPE] = ERROR_TYPE_VALUES.get(error, error)
    provider = out.get(PROVIDER)
    if isinstance(provider, str):
        out[PROVIDER] = PROVIDER_VALUES.get(provider, provider)
    if SERVER_ADDRESS in out:
        out[SERVER_ADDRESS] = host_of(out[SERVER_ADDRESS])
    return out
