"""llm_insights: OpenTelemetry + Azure Monitor telemetry for LLM apps (see sdk/README.md)."""

__all__: list[str] = []
