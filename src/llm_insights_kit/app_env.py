"""The environment variables the kit hands an app it runs or deploys (Container App, demo, tests).

The SDK never reads these itself: the Azure Monitor distro and the OpenTelemetry SDK do, so they
live with the kit rather than in the SDK's ``contract``.
"""

from __future__ import annotations

# Entra ID authentication of the exporter ("Authorization=AAD;ClientId=..."), read by the distro
ENV_AUTHENTICATION_STRING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
# Standard OpenTelemetry settings (opentelemetry.io/docs/specs/otel/configuration/
# sdk-environment-variables)
ENV_OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
ENV_OTEL_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
ENV_OTEL_TRACES_SAMPLER = "OTEL_TRACES_SAMPLER"
ENV_OTEL_TRACES_SAMPLER_ARG = "OTEL_TRACES_SAMPLER_ARG"
ENV_OTEL_METRIC_EXPORT_INTERVAL = "OTEL_METRIC_EXPORT_INTERVAL"  # ms between metric exports
ENV_OTEL_BSP_SCHEDULE_DELAY = "OTEL_BSP_SCHEDULE_DELAY"  # ms between span batch exports
