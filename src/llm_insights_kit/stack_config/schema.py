"""The stack file's keys (each declared once, with type, description and default) and the
validated settings they become."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from llm_insights import contract

from llm_insights_kit import app_env

from ..artifacts import RenderContext

PROJECT = "llm-insights"
NAMESPACE = PROJECT
LOCATION_KEY = "azure-native:location"

RECEIVER_KINDS = ("email", "pagerduty", "slack")
SAMPLERS = ("microsoft.rate_limited", "microsoft.fixed.percentage")
RESERVED_TAGS = ("project", "environment", "stack", "managed-by")
# Consumption-plan CPU sizes; memory must be twice the CPU in Gi.
CONTAINER_CPUS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0)

# the alert rule whose threshold is the stack's slow-call threshold unless keepSlowSeconds is set
LATENCY_RULE = "llm-latency-p95-high"

KEY_VAULT_RE = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/(?P<rg>[-\w.()]{1,90})"
    r"/providers/Microsoft\.KeyVault/vaults/(?P<vault>[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9])$"
)


@dataclass(frozen=True)
class Key:
    """One documented config key (``name`` without the namespace)."""

    name: str
    type: str  # string | integer | number | boolean | array | object
    description: str
    default: Any = None  # None: unset, or derived (see default_doc)
    default_doc: str | None = None
    secret: bool = False


KEYS: tuple[Key, ...] = (
    Key("environment", "string", "Environment name: tags, OTEL resource, names.", None,
        "stack name"),
    Key("protect", "boolean", "Protect stateful resources from deletion.", None,
        "true, except false when environment is dev"),
    Key("tags", "object", "Extra tags (string → string) added to every taggable resource.", {}),
    Key("resourceGroup.name", "string", "Resource group to create or use.", None,
        "rg-llm-insights-<stack>"),
    Key("resourceGroup.existing", "boolean", "Use an existing resource group (don't create).",
        False),
    Key("workspace.retentionInDays", "integer", "Log Analytics retention, 30..730 days.", 30),
    Key("workspace.dailyQuotaGb", "number", "Daily ingestion cap in GB (> 0).", 1.0),
    Key("appInsights.samplingPercentage", "number", "Ingestion sampling, (0, 100] %.", 100.0),
    Key("appInsights.disableLocalAuth", "boolean",
        "Require Entra ID ingestion (no instrumentation-key auth).", False),
    Key("telemetry.serviceName", "string", "OTEL_SERVICE_NAME of the app.", "llm-app"),
    Key("telemetry.tracesSampler", "string",
        "OTEL_TRACES_SAMPLER: microsoft.rate_limited | microsoft.fixed.percentage.",
        "microsoft.rate_limited"),
    Key("telemetry.tracesSamplerArg", "number",
        "OTEL_TRACES_SAMPLER_ARG: traces/s (rate_limited) or ratio 0..1 (fixed.percentage).",
        None, "5 (rate_limited) / 1.0 (fixed.percentage)"),
    Key("telemetry.keepPerMinute", "integer",
        "Failed and slow LLM calls, tool calls and agent runs whose trace the sampler dropped: "
        "spans kept per minute per reason (error type, or slow) and model, 0..10000 (0: none). "
        "Reaches the app as " + contract.ENV_KEEP_PER_MINUTE + ".",
        contract.DEFAULT_KEEP_PER_MINUTE),
    Key("telemetry.keepSlowSeconds", "number",
        "LLM calls slower than this (seconds, > 0) are kept whatever the trace sampler dropped. "
        "Reaches the app as " + contract.ENV_KEEP_SLOW_SECONDS + ".",
        None, f"the stack's {LATENCY_RULE} threshold"),
    Key("containerApp.image", "string",
        "Container image of the app; unset = no Container App (deprecated: use containerApps).",
        None, "unset"),
    Key("containerApp.name", "string", "Container App name.", "llm-app"),
    Key("containerApp.cpu", "number", "vCPU: 0.25..4 (consumption sizes).", 0.5),
    Key("containerApp.memory", "string", "Memory, twice the CPU, e.g. 1Gi.", None, "2x cpu, in Gi"),
    Key("containerApp.minReplicas", "integer", "Minimum replicas, 0..300.", 0),
    Key("containerApp.maxReplicas", "integer", "Maximum replicas, 1..300, ≥ minReplicas.", 3),
    Key("containerApp.targetPort", "integer", "Ingress target port, 1..65535.", 8000),
    Key("containerApp.external", "boolean", "Expose ingress publicly.", True),
    Key("containerApp.keyVaultId", "string",
        "Resource id of an RBAC-mode Key Vault: the kit stores the connection string there and "
        "the app reads it by Key Vault reference.", None, "unset (plain Container App secret)"),
    Key("containerApps", "object",
        "The stack's Container Apps, app name → {image, serviceName, cpu, memory, minReplicas, "
        "maxReplicas, targetPort, external, keyVaultId, tracesSampler, tracesSamplerArg, "
        "pricingDeployments, dailyBudgetUsd} (or a list of the same with name): each its own "
        "identity, OTEL_SERVICE_NAME (default: the app name), sampler and pricing map (default: "
        "the stack's telemetry.* and pricing.deployments), on one Container Apps environment. "
        "Replaces the containerApp.* keys.", {}),
    Key("notifications.emails", "array", "Email receivers (addresses).", []),
    Key("notifications.pagerdutyUrl", "string",
        "PagerDuty Azure integration URL (secret; webhook, common alert schema).", None, "unset",
        secret=True),
    Key("notifications.slackWebhookUrl", "string",
        "Slack incoming-webhook URL (secret; posted by the kit's Logic App).", None, "unset",
        secret=True),
    Key("notifications.routes", "object",
        "Severity route → receivers (email | pagerduty | slack), routes critical/warning/info.",
        {"critical": ["email"], "warning": ["email"], "info": []}),
    Key("pricing.deployments", "object",
        "Azure OpenAI deployment name → {model, type}: the model it runs (used when a response "
        "names none) and its deployment type, which prices it (" + ", ".join(
        contract.DEPLOYMENT_TYPES) + "; *ProvisionedManaged = PTU, billed by the hour). "
        "Reaches the app as " + contract.ENV_PRICING_DEPLOYMENTS + ".", {}),
    Key("dashboards.dailyBudgetUsd", "number",
        "Daily LLM budget in USD for the environment (all services): the cost-burn panel and the "
        "llm-daily-budget-total alert; per service: containerApps.<app>.dailyBudgetUsd.",
        None, "unset"),
    Key("alerts", "object",
        "Alert overrides: rule name → {threshold, severity, enabled, windowSize, "
        "evaluationFrequency, services: {service → {threshold, severity, enabled}}}.", {}),
)  # fmt: skip
KEYS_BY_NAME: dict[str, Key] = {k.name: k for k in KEYS}


@dataclass(frozen=True)
class ResourceGroupConfig:
    name: str
    existing: bool


@dataclass(frozen=True)
class WorkspaceConfig:
    retention_in_days: int
    daily_quota_gb: float


@dataclass(frozen=True)
class AppInsightsConfig:
    sampling_percentage: float
    disable_local_auth: bool


@dataclass(frozen=True)
class TelemetryConfig:
    service_name: str
    traces_sampler: str
    traces_sampler_arg: float
    # pricing.deployments: (deployment, model or None, deployment type), sorted by deployment
    pricing_deployments: tuple[tuple[str, str | None, str], ...] = ()
    # failed and slow spans kept whatever the sampler dropped (the SDK's _keep)
    keep_per_minute: int = contract.DEFAULT_KEEP_PER_MINUTE
    keep_slow_seconds: float = contract.DEFAULT_KEEP_SLOW_SECONDS

    def pricing_deployments_json(self) -> str:
        """The deployment map as the SDK reads it (LLM_INSIGHTS_PRICING_DEPLOYMENTS)."""
        return json.dumps(
            {
                name: {**({"model": model} if model else {}), "type": dtype}
                for name, model, dtype in self.pricing_deployments
            },
            sort_keys=True,
            separators=(",", ":"),
        )


@dataclass(frozen=True)
class ContainerAppConfig:
    """One Container App: its container, scale, and the telemetry settings it runs with (its
    own ``OTEL_SERVICE_NAME`` is the service every workbook and rule splits by)."""

    name: str
    image: str
    cpu: float
    memory: str
    min_replicas: int
    max_replicas: int
    target_port: int
    external: bool
    telemetry: TelemetryConfig
    key_vault_id: str | None = None
    daily_budget_usd: float | None = None
    # set from the deprecated containerApp.* keys: deployed under the names it always had
    legacy: bool = False

    def key_vault(self) -> tuple[str, str] | None:
        """(resource group, vault name) of ``key_vault_id``."""
        if self.key_vault_id is None:
            return None
        match = KEY_VAULT_RE.match(self.key_vault_id)
        assert match is not None  # validated by parse_config
        return match.group("rg"), match.group("vault")


Secret = TypeVar("Secret")
Wrapped = TypeVar("Wrapped")


@dataclass(frozen=True)
class Notifications(Generic[Secret]):
    """Receivers and routes. The secret URLs are of type ``Secret``: the stack file's value
    (``ENCRYPTED`` when set but unreadable) or None in the kit; a secret ``pulumi.Output[str]`` in
    the Pulumi program."""

    emails: tuple[str, ...]
    pagerduty_url: Secret | None
    slack_webhook_url: Secret | None
    routes: Mapping[str, tuple[str, ...]]

    def receivers_used(self) -> set[str]:
        return {r for receivers in self.routes.values() for r in receivers}


@dataclass(frozen=True)
class StackSettings(Generic[Secret]):
    """Everything a stack file says, validated; built only by ``validate``/``read_stack_file``.

    Generic in how a secret is held (``StackSettings[str]`` in the kit,
    ``StackSettings[pulumi.Output[str]]`` in the program: ``with_secrets``), so neither side
    re-states the other's fields.
    """

    project: str
    stack: str
    environment: str
    config_file: str
    location: str | None
    protect: bool
    extra_tags: Mapping[str, str]
    resource_group: ResourceGroupConfig
    workspace: WorkspaceConfig
    app_insights: AppInsightsConfig
    telemetry: TelemetryConfig
    container_apps: tuple[ContainerAppConfig, ...]
    notifications: Notifications[Secret]
    daily_budget_usd: float | None
    alert_overrides: Mapping[str, Mapping[str, Any]]
    # what the stack file still says the deprecated way, as messages naming the new way
    deprecations: tuple[str, ...] = ()

    def services(self) -> frozenset[str] | None:
        """The services the stack declares (its apps' service names), or None without apps."""
        if not self.container_apps:
            return None
        return frozenset(a.telemetry.service_name for a in self.container_apps)

    def with_secrets(self, wrap: Callable[[Secret], Wrapped]) -> StackSettings[Wrapped]:
        """The same settings with each set secret passed through *wrap* (e.g. ``Output.secret``)."""
        n = self.notifications
        notifications = Notifications(
            emails=n.emails,
            pagerduty_url=None if n.pagerduty_url is None else wrap(n.pagerduty_url),
            slack_webhook_url=None if n.slack_webhook_url is None else wrap(n.slack_webhook_url),
            routes=n.routes,
        )
        return replace(self, notifications=notifications)  # type: ignore[return-value,arg-type]

    def render_context(self) -> RenderContext:
        """What the dashboards and alert renderers need from this stack."""
        return RenderContext(
            stack=self.stack,
            environment=self.environment,
            daily_budget_usd=self.daily_budget_usd,
            alert_overrides=self.alert_overrides,
            config_file=self.config_file,
            services=self.services(),
            service_budgets={
                a.telemetry.service_name: a.daily_budget_usd
                for a in self.container_apps
                if a.daily_budget_usd is not None
            },
        )


def sampler_arg_text(value: float) -> str:
    """``5`` for 5.0, ``0.25`` for 0.25: the value of ``OTEL_TRACES_SAMPLER_ARG``."""
    return str(int(value)) if float(value).is_integer() else str(value)


def app_telemetry_env(environment: str, telemetry: TelemetryConfig) -> dict[str, str]:
    """The telemetry settings a stack gives its app, by variable name (sorted).

    One definition for the Container App (infra) and the local demo's app, so the demo runs the
    app exactly as the stack would: service name, environment (SDK variable and resource
    attribute), trace sampler and its argument, what is kept whatever the sampler drops (per
    minute, slow threshold), and the pricing deployment map when set.
    """
    env = {
        app_env.ENV_OTEL_SERVICE_NAME: telemetry.service_name,
        app_env.ENV_OTEL_RESOURCE_ATTRIBUTES: (
            f"{contract.RESOURCE_DEPLOYMENT_ENVIRONMENT_NAME}={environment}"
        ),
        contract.ENV_ENVIRONMENT: environment,
        app_env.ENV_OTEL_TRACES_SAMPLER: telemetry.traces_sampler,
        app_env.ENV_OTEL_TRACES_SAMPLER_ARG: sampler_arg_text(telemetry.traces_sampler_arg),
        contract.ENV_KEEP_PER_MINUTE: str(telemetry.keep_per_minute),
        contract.ENV_KEEP_SLOW_SECONDS: sampler_arg_text(telemetry.keep_slow_seconds),
    }
    if telemetry.pricing_deployments:  # the deployment map the SDK prices by
        env[contract.ENV_PRICING_DEPLOYMENTS] = telemetry.pricing_deployments_json()
    return dict(sorted(env.items()))
