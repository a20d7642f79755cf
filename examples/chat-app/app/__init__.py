"""Sample LLM chat service instrumented only with ``llm_insights`` (see ../README.md)."""
