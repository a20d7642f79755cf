"""The stack file's schema and validation, shared by the Pulumi program and the kit's commands.

``Pulumi.<stack>.yaml`` is read by ``pulumi up`` (``infra/llm_insights_infra/config.py``) and by
``llm-insights render | lint | alerts test | preview | demo``; all of them validate it here, so a
key or value the deployment would reject is rejected by every command with the same message, e.g.
``Pulumi.prod.yaml: llm-insights:workspace.retentionInDays = 3: must be 30..730``.

Every key is declared once in ``KEYS`` (type, description, default); unknown keys in the
``llm-insights:`` namespace are errors. Secrets are checked to be secrets and never echoed. No
Pulumi import: the program adds only what needs the engine (reading its config, wrapping secrets
as ``Output.secret``, requiring the region and the receivers' secrets, rendering artifacts).

The daily budget has one form, the flat key ``llm-insights:dashboards.dailyBudgetUsd``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from llm_insights import contract

from .artifacts import RenderContext
from .errors import KitError
from .fsutil import read_yaml
from .paths import KIT_ROOT

PROJECT = "llm-insights"
NAMESPACE = PROJECT
LOCATION_KEY = "azure-native:location"

ROUTES = ("critical", "warning", "info")
RECEIVER_KINDS = ("email", "pagerduty", "slack")
SAMPLERS = ("microsoft.rate_limited", "microsoft.fixed.percentage")
RESERVED_TAGS = ("project", "environment", "stack", "managed-by")
# Consumption-plan CPU sizes; memory must be twice the CPU in Gi.
CONTAINER_CPUS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0)

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$")
_RG_RE = re.compile(r"^[-\w.()]{1,89}[-\w()]$")
_LOCATION_RE = re.compile(r"^[a-z][a-z0-9]{2,40}$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_IMAGE_RE = re.compile(
    r"^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?/)?"  # registry
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"  # path
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"  # tag, digest
)
_KEY_VAULT_RE = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/(?P<rg>[-\w.()]{1,90})"
    r"/providers/Microsoft\.KeyVault/vaults/(?P<vault>[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9])$"
)
_MEMORY_RE = re.compile(r"^(\d+(?:\.\d+)?)Gi$")
_TAG_KEY_RE = re.compile(r"^[^<>%&\\?/]{1,512}$")


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
    Key("containerApp.image", "string", "Container image of the app; unset = no Container App.",
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
    Key("dashboards.dailyBudgetUsd", "number", "Daily LLM budget in USD for the cost-burn panel.",
        None, "unset"),
    Key("alerts", "object",
        "Alert overrides: rule name → {threshold, severity, enabled, windowSize, "
        "evaluationFrequency}.", {}),
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
    name: str
    image: str
    cpu: float
    memory: str
    min_replicas: int
    max_replicas: int
    target_port: int
    external: bool
    key_vault_id: str | None = None

    def key_vault(self) -> tuple[str, str] | None:
        """(resource group, vault name) of ``key_vault_id``."""
        if self.key_vault_id is None:
            return None
        match = _KEY_VAULT_RE.match(self.key_vault_id)
        assert match is not None  # validated by parse_config
        return match.group("rg"), match.group("vault")


Secret = TypeVar("Secret")


@dataclass(frozen=True)
class Notifications(Generic[Secret]):
    """Receivers and routes. The secret URLs are of type ``Secret``: here the stack file's
    value (``ENCRYPTED`` when set but unreadable) or None; in the Pulumi program a secret
    ``pulumi.Output[str]`` (``NotificationsConfig``), so neither side re-states the other."""

    emails: tuple[str, ...]
    pagerduty_url: Secret | None
    slack_webhook_url: Secret | None
    routes: Mapping[str, tuple[str, ...]]

    def receivers_used(self) -> set[str]:
        return {r for receivers in self.routes.values() for r in receivers}


NotificationsSettings = Notifications[str]


@dataclass(frozen=True)
class StackSettings:
    """Everything a stack file says, validated; built only by ``validate``/``read_stack_file``."""

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
    container_app: ContainerAppConfig | None
    notifications: NotificationsSettings
    daily_budget_usd: float | None
    alert_overrides: Mapping[str, Mapping[str, Any]]

    def render_context(self) -> RenderContext:
        """What the dashboards and alert renderers need from this stack."""
        return RenderContext(
            stack=self.stack,
            environment=self.environment,
            daily_budget_usd=self.daily_budget_usd,
            alert_overrides=self.alert_overrides,
            config_file=self.config_file,
        )


class _Reader:
    """Reads raw string values of one stack, raising ``KitError`` that names file and key."""

    def __init__(self, raw: Mapping[str, Any], secret_keys: frozenset[str], config_file: str):
        self.raw = raw
        self.secret_keys = secret_keys
        self.config_file = config_file

    def fail(self, key: str, value: Any, allowed: str) -> KitError:
        full = f"{NAMESPACE}:{key}" if ":" not in key else key
        shown = "<secret>" if KEYS_BY_NAME.get(key, Key("", "", "")).secret else _show(value)
        return KitError(self.config_file, f"{full} = {shown}: {allowed}")

    def has(self, key: str) -> bool:
        return f"{NAMESPACE}:{key}" in self.raw

    def value(self, key: str) -> Any:
        """The decoded value (objects/arrays from JSON, scalars as given), or the key default."""
        spec = KEYS_BY_NAME[key]
        full = f"{NAMESPACE}:{key}"
        if full not in self.raw:
            return spec.default
        raw = self.raw[full]
        if spec.type in ("object", "array") and isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError:
                kind = "a mapping" if spec.type == "object" else "a list"
                raise self.fail(key, raw, f"must be {kind}") from None
        return raw

    def string(self, key: str, pattern: re.Pattern[str] | None = None, allowed: str = "") -> Any:
        value = self.value(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, value, "must be a non-empty string")
        if pattern is not None and not pattern.match(value):
            raise self.fail(key, value, allowed)
        return value

    def boolean(self, key: str) -> Any:
        value = self.value(key)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self.fail(key, value, "must be true or false")

    def integer(self, key: str, lo: int, hi: int) -> Any:
        value = self.value(key)
        if value is None:
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            number = int(value) if not isinstance(value, float) else None
            if number is None:
                raise ValueError
        except (TypeError, ValueError):
            raise self.fail(key, value, f"must be an integer {lo}..{hi}") from None
        if not lo <= number <= hi:
            raise self.fail(key, value, f"must be {lo}..{hi}")
        return number

    def number(self, key: str, lo: float, hi: float, *, lo_open: bool = False) -> Any:
        value = self.value(key)
        if value is None:
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            raise self.fail(key, value, "must be a number") from None
        low_ok = number > lo if lo_open else number >= lo
        if not (low_ok and number <= hi) or number != number:
            if lo_open:
                raise self.fail(key, value, f"must be > {_num(lo)} and ≤ {_num(hi)}")
            raise self.fail(key, value, f"must be {_num(lo)}..{_num(hi)}")
        return number

    def secret(self, key: str, pattern: re.Pattern[str], allowed: str) -> str | None:
        full = f"{NAMESPACE}:{key}"
        if full not in self.raw:
            return None
        value = self.raw[full]
        if full not in self.secret_keys:
            raise KitError(
                self.config_file,
                f"{full} is set in plaintext: must be a secret "
                f"(pulumi config set --secret {key} <value>)",
            )
        if value is ENCRYPTED:
            return ENCRYPTED  # ciphertext in the stack file: set, checked when decrypted
        if not isinstance(value, str) or not pattern.match(value):
            raise self.fail(key, value, allowed)
        return value


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


_HTTPS_RE = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?(/\S*)?$")


def validate(
    raw: Mapping[str, Any],
    secret_keys: frozenset[str] | set[str],
    stack: str,
    *,
    config_file: str | None = None,
    deploy: bool = True,
) -> StackSettings:
    """Validate one stack's config (full keys ``ns:key`` → value as the engine gives it).

    ``deploy`` adds what only a deployment needs: the Azure region, and the secret of every
    receiver a route uses (secrets are often set per deployer, not in the committed file).
    ``config_file`` names the file in messages (default ``Pulumi.<stack>.yaml``).
    """
    config_file = config_file or f"Pulumi.{stack}.yaml"
    r = _Reader(raw, frozenset(secret_keys), config_file)

    for full in sorted(raw):
        ns, _, key = full.partition(":")
        if ns == NAMESPACE and key not in KEYS_BY_NAME:
            # a nested form (llm-insights:dashboards: {dailyBudgetUsd: …}) names its flat key
            flat = sorted(k for k in KEYS_BY_NAME if k.startswith(f"{key}."))
            close = difflib.get_close_matches(key, list(KEYS_BY_NAME), n=1) or flat[:1]
            hint = f"; did you mean {close[0]}?" if close else ""
            raise KitError(
                config_file,
                f"{full}: unknown key{hint} (allowed: {', '.join(sorted(KEYS_BY_NAME))})",
            )
        if ns == NAMESPACE and full in secret_keys and not KEYS_BY_NAME[key].secret:
            raise KitError(config_file, f"{full}: is a secret but is not a secret setting")

    location = raw.get(LOCATION_KEY)
    if location is None and deploy:
        raise KitError(
            config_file,
            f"{LOCATION_KEY} is not set: set the Azure region "
            f"(pulumi config set {LOCATION_KEY} westeurope)",
        )
    if location is not None and (not isinstance(location, str) or not _LOCATION_RE.match(location)):
        raise KitError(
            config_file,
            f"{LOCATION_KEY} = {_show(location)}: must be an Azure region name like westeurope",
        )

    environment = r.string(
        "environment", _NAME_RE, "must be 2..24 chars of a-z, 0-9, '-', starting with a letter"
    )
    if environment is None:
        environment = stack
        if not _NAME_RE.match(environment):
            raise KitError(
                config_file,
                f"{NAMESPACE}:environment is unset and the stack name {stack!r} is not a valid "
                "environment name: set it to 2..24 chars of a-z, 0-9, '-'",
            )
    protect = r.boolean("protect")
    if protect is None:
        protect = environment != "dev"

    extra_tags = r.value("tags")
    if not isinstance(extra_tags, dict):
        raise r.fail("tags", extra_tags, "must be a mapping of tag name → string value")
    for tag, tag_value in extra_tags.items():
        if tag in RESERVED_TAGS:
            raise r.fail(
                "tags", extra_tags, f"tag {tag!r} is set by the kit ({', '.join(RESERVED_TAGS)})"
            )
        if (
            not _TAG_KEY_RE.match(str(tag))
            or not isinstance(tag_value, str)
            or len(tag_value) > 256
        ):
            raise r.fail(
                "tags", extra_tags, "tag names ≤ 512 chars without <>%&\\?/; values strings ≤ 256"
            )

    rg_name = r.string(
        "resourceGroup.name",
        _RG_RE,
        "must be a resource group name (1..90 of letters, digits, -_.())",
    )
    rg_existing = r.boolean("resourceGroup.existing")
    if rg_existing and rg_name is None:
        raise KitError(
            config_file,
            f"{NAMESPACE}:resourceGroup.existing = true: needs {NAMESPACE}:resourceGroup.name",
        )
    resource_group = ResourceGroupConfig(
        name=rg_name or f"rg-{PROJECT}-{stack}", existing=bool(rg_existing)
    )

    workspace = WorkspaceConfig(
        retention_in_days=r.integer("workspace.retentionInDays", 30, 730),
        daily_quota_gb=r.number("workspace.dailyQuotaGb", 0.0, 10_000.0, lo_open=True),
    )
    app_insights = AppInsightsConfig(
        sampling_percentage=r.number("appInsights.samplingPercentage", 0.0, 100.0, lo_open=True),
        disable_local_auth=r.boolean("appInsights.disableLocalAuth"),
    )

    sampler = r.string("telemetry.tracesSampler")
    if sampler not in SAMPLERS:
        raise r.fail("telemetry.tracesSampler", sampler, f"must be one of {', '.join(SAMPLERS)}")
    if sampler == "microsoft.fixed.percentage":
        sampler_arg = r.number("telemetry.tracesSamplerArg", 0.0, 1.0)
        sampler_arg = 1.0 if sampler_arg is None else sampler_arg
    else:
        sampler_arg = r.number("telemetry.tracesSamplerArg", 0.0, 10_000.0, lo_open=True)
        sampler_arg = 5.0 if sampler_arg is None else sampler_arg
    telemetry = TelemetryConfig(
        service_name=r.string(
            "telemetry.serviceName",
            re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"),
            "must be 1..128 chars of letters, digits, '.', '_', '-'",
        ),
        traces_sampler=sampler,
        traces_sampler_arg=sampler_arg,
        pricing_deployments=_pricing_deployments(r),
    )

    container_app = _container_app(r)
    notifications = _notifications(r, deploy=deploy)
    daily_budget = r.number("dashboards.dailyBudgetUsd", 0.0, 1_000_000.0, lo_open=True)

    overrides = r.value("alerts")
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise r.fail(
            "alerts", overrides, "must be a mapping of rule name → {threshold, severity, ...}"
        )

    return StackSettings(
        project=PROJECT,
        stack=stack,
        environment=environment,
        config_file=config_file,
        location=location,
        protect=protect,
        extra_tags=dict(sorted(extra_tags.items())),
        resource_group=resource_group,
        workspace=workspace,
        app_insights=app_insights,
        telemetry=telemetry,
        container_app=container_app,
        notifications=notifications,
        daily_budget_usd=daily_budget,
        alert_overrides=overrides,
    )


_DEPLOYMENT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _pricing_deployments(r: _Reader) -> tuple[tuple[str, str | None, str], ...]:
    """``pricing.deployments``: deployment name → {model, type}, each value checked (the types
    are Azure's deployment SKU names; the SDK validates the same map the same way)."""
    key = "pricing.deployments"
    value = r.value(key)
    shape = "must be a mapping of deployment name → {model, type}"
    if not isinstance(value, dict):
        raise r.fail(key, value, shape)
    out = []
    for name, spec in sorted(value.items()):
        where = f"{key}.{name}"
        if not isinstance(name, str) or not _DEPLOYMENT_NAME_RE.match(name):
            raise r.fail(
                key, value, f"deployment {name!r}: names are 1..64 of letters, digits, . _ -"
            )
        if not isinstance(spec, dict):
            raise r.fail(where, spec, "must be a mapping with model and type")
        unknown = sorted(set(spec) - {"model", "type"})
        if unknown:
            raise r.fail(where, spec, f"unknown keys {unknown}; allowed: model, type")
        dtype = spec.get("type")
        if dtype not in contract.DEPLOYMENT_TYPES:
            raise r.fail(f"{where}.type", dtype, f"allowed: {', '.join(contract.DEPLOYMENT_TYPES)}")
        model = spec.get("model")
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise r.fail(f"{where}.model", model, "must be a model name (a non-empty string)")
        out.append((name, model, dtype))
    return tuple(out)


def _container_app(r: _Reader) -> ContainerAppConfig | None:
    image = r.string(
        "containerApp.image",
        _IMAGE_RE,
        "must be an image reference like myregistry.azurecr.io/app:1.2.3 (lowercase, tag/digest)",
    )
    if image is None:
        others = sorted(
            k.name for k in KEYS if k.name.startswith("containerApp.") and r.has(k.name)
        )
        if others:
            raise KitError(
                r.config_file,
                f"{NAMESPACE}:{others[0]} is set but {NAMESPACE}:containerApp.image is not: "
                "set the image, or remove the containerApp.* keys",
            )
        return None
    cpu = r.number("containerApp.cpu", 0.25, 4.0)
    if cpu not in CONTAINER_CPUS:
        raise r.fail("containerApp.cpu", r.value("containerApp.cpu"),
                     f"must be one of {', '.join(_num(c) for c in CONTAINER_CPUS)}")  # fmt: skip
    memory = r.string("containerApp.memory", _MEMORY_RE, "must be like 1Gi (twice the CPU)")
    expected_memory = f"{_num(cpu * 2)}Gi"
    if memory is None:
        memory = expected_memory
    elif float(_MEMORY_RE.match(memory).group(1)) != cpu * 2:  # type: ignore[union-attr]
        raise r.fail(
            "containerApp.memory", memory, f"must be {expected_memory} for cpu {_num(cpu)}"
        )
    min_replicas = r.integer("containerApp.minReplicas", 0, 300)
    max_replicas = r.integer("containerApp.maxReplicas", 1, 300)
    if max_replicas < min_replicas:
        raise r.fail(
            "containerApp.maxReplicas", max_replicas, f"must be ≥ minReplicas ({min_replicas})"
        )
    return ContainerAppConfig(
        name=r.string(
            "containerApp.name",
            re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"),
            "must be 2..32 chars of a-z, 0-9, '-', starting with a letter",
        ),
        image=image,
        cpu=cpu,
        memory=memory,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        target_port=r.integer("containerApp.targetPort", 1, 65535),
        external=r.boolean("containerApp.external"),
        key_vault_id=r.string(
            "containerApp.keyVaultId",
            _KEY_VAULT_RE,
            "must be a Key Vault resource id: /subscriptions/<id>/resourceGroups/<rg>/providers/"
            "Microsoft.KeyVault/vaults/<name>",
        ),
    )


def _notifications(r: _Reader, *, deploy: bool) -> NotificationsSettings:
    emails = r.value("notifications.emails")
    if not isinstance(emails, list):
        raise r.fail("notifications.emails", emails, "must be a list of email addresses")
    for email in emails:
        if not isinstance(email, str) or not _EMAIL_RE.match(email):
            raise r.fail("notifications.emails", emails, f"{_show(email)} is not an email address")
    if len(set(emails)) != len(emails):
        raise r.fail("notifications.emails", emails, "must not repeat an address")
    if len(emails) > 100:
        raise r.fail("notifications.emails", emails, "at most 100 addresses")

    https = "must be an https:// URL"
    pagerduty = r.secret("notifications.pagerdutyUrl", _HTTPS_RE, https)
    slack = r.secret(
        "notifications.slackWebhookUrl",
        re.compile(r"^https://hooks\.slack\.com/\S+$"),
        "must be a Slack incoming-webhook URL (https://hooks.slack.com/...)",
    )

    routes_raw = r.value("notifications.routes")
    if not isinstance(routes_raw, dict):
        raise r.fail("notifications.routes", routes_raw, "must be a mapping route → receivers")
    routes: dict[str, tuple[str, ...]] = {}
    for route in ROUTES:
        receivers = routes_raw.get(route, [])
        if not isinstance(receivers, list) or not all(isinstance(x, str) for x in receivers):
            raise r.fail(
                f"notifications.routes.{route}",
                receivers,
                f"must be a list of {', '.join(RECEIVER_KINDS)}",
            )
        for receiver in receivers:
            if receiver not in RECEIVER_KINDS:
                raise r.fail(
                    f"notifications.routes.{route}",
                    receivers,
                    f"unknown receiver {receiver!r}; allowed: {', '.join(RECEIVER_KINDS)}",
                )
        routes[route] = tuple(dict.fromkeys(receivers))
    for route in routes_raw:
        if route not in ROUTES:
            raise r.fail(
                "notifications.routes", routes_raw,
                f"unknown route {route!r}; allowed: {', '.join(ROUTES)}",
            )  # fmt: skip

    needs = {
        "email": (bool(emails), "notifications.emails", "a non-empty list of addresses"),
        "pagerduty": (
            pagerduty is not None,
            "notifications.pagerdutyUrl",
            "pulumi config set --secret notifications.pagerdutyUrl <url>",
        ),
        "slack": (
            slack is not None,
            "notifications.slackWebhookUrl",
            "pulumi config set --secret notifications.slackWebhookUrl <url>",
        ),
    }
    for route, receivers in routes.items() if deploy else ():
        for receiver in receivers:
            ok, key, how = needs[receiver]
            if not ok:
                raise KitError(
                    r.config_file,
                    f"{NAMESPACE}:notifications.routes.{route} uses {receiver} but "
                    f"{NAMESPACE}:{key} is not set ({how})",
                )
    return NotificationsSettings(
        emails=tuple(emails), pagerduty_url=pagerduty, slack_webhook_url=slack, routes=routes
    )


class _Encrypted(str):
    """A ``secure:`` value read from a stack file: the secret is set but only Pulumi can read it."""


ENCRYPTED = _Encrypted("<encrypted>")


def engine_values(config: Mapping[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """A stack file's ``config:`` as the Pulumi CLI hands it to the program.

    Scalars become strings, objects and lists JSON (so both readers see identical values and give
    identical messages); ``{secure: …}`` values are secret keys whose value is ``ENCRYPTED``.
    """
    values: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in config.items():
        key = str(key)
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            values[key] = ENCRYPTED
            secret.add(key)
        elif isinstance(value, bool):
            values[key] = "true" if value else "false"
        elif isinstance(value, Mapping | list):
            values[key] = json.dumps(value)
        elif value is None:
            values[key] = ""
        else:
            values[key] = str(value)
    return values, frozenset(secret)


def stack_name(path: Path) -> str:
    """``prod`` for ``Pulumi.prod.yaml`` (any other file name: its stem)."""
    name = path.name
    if name.startswith("Pulumi.") and name.endswith((".yaml", ".yml")):
        return name.removeprefix("Pulumi.").rsplit(".", 1)[0]
    return path.stem


def read_stack_file(path: Path, stack: str | None = None) -> StackSettings:
    """Read and validate ``Pulumi.<stack>.yaml`` as ``pulumi up`` would, short of deploying.

    The region and the receivers' secrets are not required (``deploy=False``); everything else
    is checked exactly as the Pulumi program checks it. Messages name the file as given.
    """
    shown = str(path)
    data = read_yaml(path, "stack file", shown)
    if not isinstance(data, Mapping):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise KitError(shown, f"expected a Pulumi stack file (a mapping with config:), got {got}")
    config = data.get("config")
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise KitError(shown, "config: expected a mapping of key → value")
    values, secret = engine_values(config)
    return validate(values, secret, stack or stack_name(path), config_file=shown, deploy=False)


def find_stack_file(stack: str, search: Sequence[Path]) -> Path:
    """``Pulumi.<stack>.yaml`` in the first directory of *search* that has it."""
    name = f"Pulumi.{stack}.yaml"
    # each place once (the current directory is often the kit checkout), in search order
    search = list(dict.fromkeys(Path(d).resolve() for d in search))
    for directory in search:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(d) for d in search)
    raise KitError(f"--stack {stack}", f"no {name} found (looked in {looked})")


def load_stack(
    stack: str | None, stack_file: Path | None = None, search: Sequence[Path] = ()
) -> StackSettings | None:
    """The validated settings of ``--stack``/``--stack-file`` (None when neither is given).

    ``--stack`` is looked up in *search*, then the current directory, then the kit checkout.
    """
    if stack is None and stack_file is None:
        return None
    if stack_file is None:
        assert stack is not None
        stack_file = find_stack_file(stack, [*search, Path.cwd(), KIT_ROOT])
    return read_stack_file(stack_file, stack)


def render_context(
    stack: str | None, stack_file: Path | None = None, search: Sequence[Path] = ()
) -> RenderContext:
    """The RenderContext of a stack; with neither argument the kit's defaults (no overrides)."""
    settings = load_stack(stack, stack_file, search)
    return RenderContext() if settings is None else settings.render_context()


def sampler_arg_text(value: float) -> str:
    """``5`` for 5.0, ``0.25`` for 0.25: the value of ``OTEL_TRACES_SAMPLER_ARG``."""
    return str(int(value)) if float(value).is_integer() else str(value)


def app_telemetry_env(environment: str, telemetry: TelemetryConfig) -> dict[str, str]:
    """The telemetry settings a stack gives its app, by variable name (sorted).

    One definition for the Container App (infra) and the local demo's app, so the demo runs the
    app exactly as the stack would: service name, environment (SDK variable and resource
    attribute), trace sampler and its argument, and the pricing deployment map when set.
    """
    env = {
        contract.ENV_OTEL_SERVICE_NAME: telemetry.service_name,
        contract.ENV_OTEL_RESOURCE_ATTRIBUTES: (
            f"{contract.RESOURCE_DEPLOYMENT_ENVIRONMENT_NAME}={environment}"
        ),
        contract.ENV_ENVIRONMENT: environment,
        contract.ENV_OTEL_TRACES_SAMPLER: telemetry.traces_sampler,
        contract.ENV_OTEL_TRACES_SAMPLER_ARG: sampler_arg_text(telemetry.traces_sampler_arg),
    }
    if telemetry.pricing_deployments:  # the deployment map the SDK prices by
        env[contract.ENV_PRICING_DEPLOYMENTS] = telemetry.pricing_deployments_json()
    return dict(sorted(env.items()))
