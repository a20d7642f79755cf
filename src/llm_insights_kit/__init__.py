"""llm-insights kit: the Pulumi program's renderers, KQL checks, local Application Insights and CLI.

The app-side SDK is the separate ``llm_insights`` distribution (``sdk/``).
"""

__version__ = "0.1.0"
