"""Subcommands of the ``llm-insights`` CLI (see ``llm_insights_kit.cli``)."""
