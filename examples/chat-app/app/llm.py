"""The ``openai`` client the app calls: AzureOpenAI or OpenAI, chosen by the settings."""

from __future__ import annotations

from openai import AzureOpenAI, OpenAI

from .settings import Settings

_COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"


def make_client(settings: Settings) -> OpenAI:
    """A client for the configured endpoint. Without an Azure key, a managed identity is used
    (``azure-identity``, already a dependency of the Azure Monitor distro)."""
    if settings.provider == "azure":
        if settings.azure_api_key:
            return AzureOpenAI(
                azure_endpoint=settings.azure_endpoint,
                api_key=settings.azure_api_key,
                api_version=settings.azure_api_version,
                max_retries=settings.max_retries,
                timeout=settings.timeout_s,
            )
        from azure.identity import DefaultAzureCredential, get_bearer_token_provider

        provider = get_bearer_token_provider(DefaultAzureCredential(), _COGNITIVE_SERVICES_SCOPE)
        return AzureOpenAI(
            azure_endpoint=settings.azure_endpoint,
            azure_ad_token_provider=provider,
            api_version=settings.azure_api_version,
            max_retries=settings.max_retries,
            timeout=settings.timeout_s,
        )
    return OpenAI(
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key,
        max_retries=settings.max_retries,
        timeout=settings.timeout_s,
    )
