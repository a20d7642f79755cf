"""Policy pack rules for llm-insights stacks."""
