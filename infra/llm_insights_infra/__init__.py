"""The llm-insights Pulumi program: validated stack config and one component per concern."""
