"""``validate``: every check of a stack's config, as ``pulumi up`` and the kit's commands run it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from llm_insights import contract

from .. import messages
from ..artifacts import ROUTES
from ..errors import KitError
from ..paths import stack_file_name
from .reader import Reader
from .schema import (
    CONTAINER_CPUS,
    KEY_VAULT_RE,
    KEYS,
    KEYS_BY_NAME,
    LATENCY_RULE,
    LOCATION_KEY,
    NAMESPACE,
    PROJECT,
    RECEIVER_KINDS,
    RESERVED_TAGS,
    SAMPLERS,
    AppInsightsConfig,
    ContainerAppConfig,
    Notifications,
    ResourceGroupConfig,
    StackSettings,
    TelemetryConfig,
    WorkspaceConfig,
)

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$")
_RG_RE = re.compile(r"^[-\w.()]{1,89}[-\w()]$")
_LOCATION_RE = re.compile(r"^[a-z][a-z0-9]{2,40}$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_IMAGE_RE = re.compile(
    r"^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?/)?"  # registry
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"  # path
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"  # tag, digest
)
_MEMORY_RE = re.compile(r"^(\d+(?:\.\d+)?)Gi$")
_TAG_KEY_RE = re.compile(r"^[^<>%&\\?/]{1,512}$")

_HTTPS_RE = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?(/\S*)?$")


def validate(
    raw: Mapping[str, Any],
    secret_keys: frozenset[str] | set[str],
    stack: str,
    *,
    config_file: str | None = None,
    deploy: bool = True,
) -> StackSettings[str]:
    """Validate one stack's config (full keys ``ns:key`` → value as the engine gives it).

    ``deploy`` adds what only a deployment needs: the Azure region, and the secret of every
    receiver a route uses (secrets are often set per deployer, not in the committed file).
    ``config_file`` names the file in messages (default ``Pulumi.<stack>.yaml``).
    """
    config_file = config_file or stack_file_name(stack)
    r = Reader(raw, frozenset(secret_keys), config_file)

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
        raise messages.invalid(
            config_file, LOCATION_KEY, location, "must be an Azure region name like westeurope"
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

    overrides = r.value("alerts")
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise r.fail(
            "alerts", overrides, "must be a mapping of rule name → {threshold, severity, ...}"
        )

    telemetry = replace(
        _telemetry(r),
        keep_per_minute=r.integer("telemetry.keepPerMinute", 0, 10_000),
        keep_slow_seconds=_keep_slow_seconds(r, overrides),
    )
    container_apps, deprecations = _container_apps(r, telemetry)
    notifications = _notifications(r, deploy=deploy)
    daily_budget = r.number("dashboards.dailyBudgetUsd", 0.0, 1_000_000.0, lo_open=True)

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
        container_apps=container_apps,
        notifications=notifications,
        daily_budget_usd=daily_budget,
        alert_overrides=overrides,
        deprecations=deprecations,
    )


_SERVICE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _telemetry(r: Reader) -> TelemetryConfig:
    sampler = r.string("telemetry.tracesSampler")
    if sampler not in SAMPLERS:
        raise r.fail("telemetry.tracesSampler", sampler, f"must be one of {', '.join(SAMPLERS)}")
    if sampler == "microsoft.fixed.percentage":
        sampler_arg = r.number("telemetry.tracesSamplerArg", 0.0, 1.0)
        sampler_arg = 1.0 if sampler_arg is None else sampler_arg
    else:
        sampler_arg = r.number("telemetry.tracesSamplerArg", 0.0, 10_000.0, lo_open=True)
        sampler_arg = 5.0 if sampler_arg is None else sampler_arg
    return TelemetryConfig(
        service_name=r.string(
            "telemetry.serviceName",
            _SERVICE_NAME_RE,
            "must be 1..128 chars of letters, digits, '.', '_', '-'",
        ),
        traces_sampler=sampler,
        traces_sampler_arg=sampler_arg,
        pricing_deployments=_pricing_deployments(r),
    )


def _keep_slow_seconds(r: Reader, overrides: dict[str, Any]) -> float:
    """``telemetry.keepSlowSeconds``, else the stack's latency alert threshold (its override, else
    the rule's default, which the SDK's default equals): a call the alert counts as slow is kept."""
    seconds = r.number("telemetry.keepSlowSeconds", 0.0, 3_600.0, lo_open=True)
    if seconds is not None:
        return seconds
    threshold = overrides.get(LATENCY_RULE, {}).get("threshold")
    if isinstance(threshold, int | float) and not isinstance(threshold, bool) and threshold > 0:
        return float(threshold)
    return contract.DEFAULT_KEEP_SLOW_SECONDS


_DEPLOYMENT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _pricing_deployments(r: Reader) -> tuple[tuple[str, str | None, str], ...]:
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


APPS_KEY = "containerApps"
# An app's field → the stack key whose checks (and default) it takes.
APP_FIELDS: dict[str, str] = {
    "name": "containerApp.name",
    "image": "containerApp.image",
    "cpu": "containerApp.cpu",
    "memory": "containerApp.memory",
    "minReplicas": "containerApp.minReplicas",
    "maxReplicas": "containerApp.maxReplicas",
    "targetPort": "containerApp.targetPort",
    "external": "containerApp.external",
    "keyVaultId": "containerApp.keyVaultId",
    "serviceName": "telemetry.serviceName",
    "tracesSampler": "telemetry.tracesSampler",
    "tracesSamplerArg": "telemetry.tracesSamplerArg",
    "pricingDeployments": "pricing.deployments",
    "dailyBudgetUsd": "dashboards.dailyBudgetUsd",
}
_KEY_FIELDS = {key: field for field, key in APP_FIELDS.items()}
# The fields an app inherits from the stack when it does not set them.
_INHERITED = ("telemetry.tracesSampler", "telemetry.tracesSamplerArg", "pricing.deployments")


class _AppReader(Reader):
    """One ``containerApps`` entry read with the stack keys' own checks: a field it omits takes
    the key's default (the stack's value for the sampler and pricing map), and messages name
    ``containerApps.<app>.<field>``."""

    def __init__(self, stack: Reader, app: str, entry: Mapping[str, Any]) -> None:
        super().__init__(stack.raw, stack.secret_keys, stack.config_file)
        self.stack, self.app, self.entry = stack, app, entry

    def has(self, key: str) -> bool:
        return _KEY_FIELDS[key] in self.entry

    def value(self, key: str) -> Any:
        field = _KEY_FIELDS[key]
        if field in self.entry:
            return self.entry[field]
        if key in _INHERITED:
            return self.stack.value(key)
        return KEYS_BY_NAME[key].default

    def fail(self, key: str, value: Any, allowed: str) -> KitError:
        for stack_key, field in _KEY_FIELDS.items():
            if key == stack_key or key.startswith(f"{stack_key}."):
                key = field + key[len(stack_key) :]
                break
        full = f"{NAMESPACE}:{APPS_KEY}.{self.app}.{key}"
        return messages.invalid(self.config_file, full, value, allowed)


def _container_apps(
    r: Reader, stack_telemetry: TelemetryConfig
) -> tuple[tuple[ContainerAppConfig, ...], tuple[str, ...]]:
    """``containerApps`` (a map app name → fields, or a list of fields with ``name``), or the
    deprecated ``containerApp.*`` keys as one app; both at once is an error."""
    legacy = _container_app(r)
    raw = r.value(APPS_KEY)
    shape = "must be a mapping of app name → {image, ...} or a list of {name, image, ...}"
    if isinstance(raw, list):
        entries: list[tuple[Any, Any]] = []
        for i, entry in enumerate(raw):
            if not isinstance(entry, dict) or "name" not in entry:
                raise r.fail(f"{APPS_KEY}[{i}]", entry, "must be a mapping with name and image")
            entries.append((entry["name"], entry))
    elif isinstance(raw, dict):
        entries = list(raw.items())
    else:
        raise r.fail(APPS_KEY, raw, shape)
    if legacy is not None and entries:
        raise KitError(
            r.config_file,
            f"{NAMESPACE}:{APPS_KEY} and {NAMESPACE}:containerApp.* are both set: move the "
            "containerApp.* keys into one entry of containerApps",
        )
    if legacy is not None:
        note = (
            f"{NAMESPACE}:containerApp.* is deprecated: use {NAMESPACE}:{APPS_KEY} "
            f"({{{legacy.name}: {{image: {legacy.image}, ...}}}}; see docs/many-apps.md)"
        )
        return (replace(legacy, telemetry=stack_telemetry, legacy=True),), (note,)
    apps: list[ContainerAppConfig] = []
    for name, entry in entries:
        if not isinstance(name, str) or not _APP_NAME_RE.match(name):
            raise r.fail(f"{APPS_KEY}.{name}", name, _APP_NAME_ALLOWED)
        if not isinstance(entry, dict):
            raise r.fail(f"{APPS_KEY}.{name}", entry, "must be a mapping with image, ...")
        if entry.get("name", name) != name:
            raise r.fail(f"{APPS_KEY}.{name}.name", entry["name"], "the map key is the app name")
        unknown = sorted(set(entry) - set(APP_FIELDS))
        if unknown:
            raise r.fail(
                f"{APPS_KEY}.{name}.{unknown[0]}",
                entry[unknown[0]],
                "unknown field; allowed: " + ", ".join(APP_FIELDS),
            )
        named = {**entry, "name": name, "serviceName": entry.get("serviceName", name)}
        sub = _AppReader(r, name, named)
        if "image" not in entry:
            raise KitError(r.config_file, f"{NAMESPACE}:{APPS_KEY}.{name}.image is required")
        app = _container_app(sub)
        assert app is not None  # the image is set
        apps.append(
            replace(
                app,
                # what is kept whatever the sampler drops is the stack's, for every app
                telemetry=replace(
                    _telemetry(sub),
                    keep_per_minute=stack_telemetry.keep_per_minute,
                    keep_slow_seconds=stack_telemetry.keep_slow_seconds,
                ),
                daily_budget_usd=sub.number("dashboards.dailyBudgetUsd", 0.0, 1e6, lo_open=True),
            )
        )
    for field, label in (("name", "app name"), ("telemetry.service_name", "serviceName")):
        seen: dict[str, str] = {}
        for app in apps:
            value = app.name if field == "name" else app.telemetry.service_name
            if value in seen:
                raise KitError(
                    r.config_file,
                    f"{NAMESPACE}:{APPS_KEY}: apps {seen[value]} and {app.name} share the "
                    f"{label} {value!r}: each app needs its own",
                )
            seen[value] = app.name
    return tuple(apps), ()


_APP_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
_APP_NAME_ALLOWED = "must be 2..32 chars of a-z, 0-9, '-', starting with a letter"


def _container_app(r: Reader) -> ContainerAppConfig | None:
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
        sizes = ", ".join(map(messages.number, CONTAINER_CPUS))
        raise r.fail("containerApp.cpu", r.value("containerApp.cpu"), f"must be one of {sizes}")
    memory = r.string("containerApp.memory", _MEMORY_RE, "must be like 1Gi (twice the CPU)")
    expected_memory = f"{messages.number(cpu * 2)}Gi"
    if memory is None:
        memory = expected_memory
    elif float(_MEMORY_RE.match(memory).group(1)) != cpu * 2:  # type: ignore[union-attr]
        raise r.fail(
            "containerApp.memory",
            memory,
            f"must be {expected_memory} for cpu {messages.number(cpu)}",
        )
    min_replicas = r.integer("containerApp.minReplicas", 0, 300)
    max_replicas = r.integer("containerApp.maxReplicas", 1, 300)
    if max_replicas < min_replicas:
        raise r.fail(
            "containerApp.maxReplicas", max_replicas, f"must be ≥ minReplicas ({min_replicas})"
        )
    return ContainerAppConfig(
        name=r.string("containerApp.name", _APP_NAME_RE, _APP_NAME_ALLOWED),
        image=image,
        cpu=cpu,
        memory=memory,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        target_port=r.integer("containerApp.targetPort", 1, 65535),
        external=r.boolean("containerApp.external"),
        key_vault_id=r.string(
            "containerApp.keyVaultId",
            KEY_VAULT_RE,
            "must be a Key Vault resource id: /subscriptions/<id>/resourceGroups/<rg>/providers/"
            "Microsoft.KeyVault/vaults/<name>",
        ),
        telemetry=_NO_TELEMETRY,  # the caller sets the app's own
    )


_NO_TELEMETRY = TelemetryConfig("", "", 0.0)


def _notifications(r: Reader, *, deploy: bool) -> Notifications[str]:
    emails = r.value("notifications.emails")
    if not isinstance(emails, list):
        raise r.fail("notifications.emails", emails, "must be a list of email addresses")
    for email in emails:
        if not isinstance(email, str) or not _EMAIL_RE.match(email):
            raise r.fail(
                "notifications.emails",
                emails,
                f"{messages.show(email, 'plain')} is not an email address",
            )
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
    return Notifications(
        emails=tuple(emails), pagerduty_url=pagerduty, slack_webhook_url=slack, routes=routes
    )
