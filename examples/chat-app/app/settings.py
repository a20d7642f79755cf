"""Configuration from the environment, validated once at startup with messages that name the
variable and what is allowed.

Azure OpenAI is used when ``AZURE_OPENAI_ENDPOINT`` is set (with ``AZURE_OPENAI_DEPLOYMENT`` and
either ``AZURE_OPENAI_API_KEY`` or a managed identity); otherwise any OpenAI-compatible endpoint
via ``OPENAI_BASE_URL``/``OPENAI_API_KEY``. Telemetry settings (``OTEL_SERVICE_NAME``,
``APPLICATIONINSIGHTS_CONNECTION_STRING``, ``OTEL_TRACES_SAMPLER[_ARG]``,
``LLM_INSIGHTS_LOCAL_ENDPOINT``) are read by ``llm_insights`` itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_SERVICE_NAME = "chat-app"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_AZURE_API_VERSION = "2024-10-21"


class SettingsError(ValueError):
    """A bad or missing environment variable; the message names it and what is allowed."""


@dataclass(frozen=True)
class Settings:
    service_name: str
    provider: str  # "azure" | "openai"
    model: str  # the default model (Azure: the deployment name)
    allowed_models: tuple[str, ...]  # models a request may pick; the default is always allowed
    openai_base_url: str | None
    openai_api_key: str | None
    azure_endpoint: str | None
    azure_api_key: str | None
    azure_api_version: str
    max_retries: int
    timeout_s: float
    max_tokens: int
    retrieval_k: int
    agent_max_turns: int = 15  # LLM calls one triage run may make before it gives up


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected an integer {low}..{high}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={raw!r}: expected an integer {low}..{high}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a number {low}..{high}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={raw!r}: expected a number {low}..{high}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment (``os.environ`` unless given)."""
    env = os.environ if env is None else env
    azure_endpoint = env.get("AZURE_OPENAI_ENDPOINT", "").strip() or None
    if azure_endpoint:
        provider = "azure"
        model = env.get("AZURE_OPENAI_DEPLOYMENT", "").strip()
        if not model:
            raise SettingsError(
                "AZURE_OPENAI_DEPLOYMENT is not set: AZURE_OPENAI_ENDPOINT is set, so the "
                "deployment name to call is required"
            )
    else:
        provider = "openai"
        model = env.get("CHAT_MODEL", "").strip() or DEFAULT_MODEL
        if not env.get("OPENAI_API_KEY", "").strip():
            raise SettingsError(
                "no LLM endpoint configured: set AZURE_OPENAI_ENDPOINT + AZURE_OPENAI_DEPLOYMENT "
                "(+ AZURE_OPENAI_API_KEY or a managed identity), or OPENAI_API_KEY "
                "(+ OPENAI_BASE_URL for an OpenAI-compatible server)"
            )
    extra = [m.strip() for m in env.get("CHAT_ALLOWED_MODELS", "").split(",") if m.strip()]
    return Settings(
        service_name=env.get("OTEL_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME,
        provider=provider,
        model=model,
        allowed_models=tuple(dict.fromkeys([model, *extra])),
        openai_base_url=env.get("OPENAI_BASE_URL", "").strip() or None,
        openai_api_key=env.get("OPENAI_API_KEY", "").strip() or None,
        azure_endpoint=azure_endpoint,
        azure_api_key=env.get("AZURE_OPENAI_API_KEY", "").strip() or None,
        azure_api_version=env.get("AZURE_OPENAI_API_VERSION", "").strip()
        or DEFAULT_AZURE_API_VERSION,
        max_retries=_int(env, "OPENAI_MAX_RETRIES", 2, 0, 10),
        timeout_s=_float(env, "OPENAI_TIMEOUT_SECONDS", 60.0, 1.0, 600.0),
        max_tokens=_int(env, "CHAT_MAX_TOKENS", 400, 1, 16384),
        retrieval_k=_int(env, "RETRIEVAL_TOP_K", 3, 1, 20),
        agent_max_turns=_int(env, "CHAT_AGENT_MAX_TURNS", 15, 1, 50),
    )
