"""Policy rules for llm-insights stacks (prod by default), as plain, directly testable functions.

Each ``validate_*`` function has the ``ResourceValidation`` signature ``(args, report_violation)``
and reports nothing for resources it does not apply to. A rule applies to resources of stacks
listed in its ``stacks`` config (default ``["prod"]``), read from the resource URN, so one pack
can be attached to every stack while only prod is held to production rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

COMPONENT = "azure-native:applicationinsights:Component"
WORKSPACE = "azure-native:operationalinsights:Workspace"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
CONTAINER_APP = "azure-native:app:ContainerApp"
CONTAINER_JOB = "azure-native:app:Job"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
WORKFLOW = "azure-native:logic:Workflow"

STATEFUL = (WORKSPACE, COMPONENT)
# Types the kit declares that carry tags (role assignments and similar carry none).
TAGGABLE = (
    RESOURCE_GROUP,
    WORKSPACE,
    COMPONENT,
    CONTAINER_APP,
    "azure-native:app:ManagedEnvironment",
    "azure-native:managedidentity:UserAssignedIdentity",
    "azure-native:applicationinsights:Workbook",
    SCHEDULED_QUERY_RULE,
    ACTION_GROUP,
    WORKFLOW,
    "azure-native:keyvault:Secret",
)
REQUIRED_TAGS = ("project", "environment", "stack", "managed-by")
COMPONENT_SECRET_OUTPUTS = ("connectionString", "instrumentationKey")
DEFAULT_STACKS = ("prod",)
DEFAULT_MIN_RETENTION_DAYS = 90

# Env var names that carry credentials: they must come from a Container App secret (secretRef).
_SECRET_NAME_RE = re.compile(
    r"(CONNECTION_STRING|SECRET|PASSWORD|TOKEN|API_KEY|ACCESS_KEY|INSTRUMENTATIONKEY|"
    r"INSTRUMENTATION_KEY|WEBHOOK)",
    re.IGNORECASE,
)
# Values that look like credentials whatever the variable is called.
_SECRET_VALUE_RE = re.compile(
    r"(InstrumentationKey=|AccountKey=|SharedAccessKey=|[?&]sig=|hooks\.slack\.com/|"
    r"events\.pagerduty\.com/integration/|-----BEGIN [A-Z ]*PRIVATE KEY-----)",
    re.IGNORECASE,
)

Validation = Callable[[ResourceValidationArgs, ReportViolation], None]


def stack_of(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::<type>::<name>`` → ``<stack>``."""
    head = urn.split("::", 1)[0]
    parts = head.split(":")
    return parts[2] if len(parts) >= 3 else ""


def applies(args: ResourceValidationArgs) -> bool:
    stacks = args.get_config().get("stacks", list(DEFAULT_STACKS))
    return stack_of(args.urn) in stacks


def _get(props: Mapping[str, Any], *path: str) -> Any:
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def validate_local_auth_disabled(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != COMPONENT or not applies(args):
        return
    if args.props.get("disableLocalAuth") is not True:
        report(
            f"{args.name}: Application Insights must have disableLocalAuth=true "
            "(Entra ID ingestion only; set llm-insights:appInsights.disableLocalAuth true)",
            None,
        )


def validate_stateful_protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (*STATEFUL, RESOURCE_GROUP) or not applies(args):
        return
    if not args.opts.protect:
        report(f"{args.name}: {args.resource_type} holds telemetry and must be protect=true", None)


def validate_connection_string_secret(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.resource_type != COMPONENT or not applies(args):
        return
    missing = sorted(set(COMPONENT_SECRET_OUTPUTS) - set(args.opts.additional_secret_outputs))
    if missing:
        report(
            f"{args.name}: additional_secret_outputs must include {', '.join(missing)} "
            "so ingestion credentials are encrypted in state",
            None,
        )


def literal_secret_env(containers: Iterable[Mapping[str, Any]]) -> list[str]:
    """``container/VAR`` for every env var that carries a literal credential."""
    found = []
    for container in containers or ():
        for env in container.get("env") or ():
            name = str(env.get("name", ""))
            value = env.get("value")
            if value is None:
                continue
            if _SECRET_NAME_RE.search(name) or _SECRET_VALUE_RE.search(str(value)):
                found.append(f"{container.get('name', '?')}/{name}")
    return found


def validate_no_literal_secret_env(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (CONTAINER_APP, CONTAINER_JOB) or not applies(args):
        return
    template = args.props.get("template") or {}
    containers = [*(template.get("containers") or ()), *(template.get("initContainers") or ())]
    for where in literal_secret_env(containers):
        report(
            f"{args.name}: env {where} carries a literal secret; use a Container App secret "
            "and secretRef",
            None,
        )


def validate_required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in TAGGABLE or not applies(args):
        return
    tags = args.props.get("tags") or {}
    missing = [t for t in REQUIRED_TAGS if not str(tags.get(t, "")).strip()]
    if missing:
        report(f"{args.name}: missing tags {', '.join(missing)}", None)


def validate_retention_floor(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != WORKSPACE or not applies(args):
        return
    floor = int(args.get_config().get("minRetentionDays", DEFAULT_MIN_RETENTION_DAYS))
    retention = args.props.get("retentionInDays")
    if not isinstance(retention, (int, float)) or retention < floor:
        report(f"{args.name}: retentionInDays = {retention}: must be ≥ {floor}", None)


def validate_daily_cap(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != WORKSPACE or not applies(args):
        return
    cap = _get(args.props, "workspaceCapping", "dailyQuotaGb")
    if not isinstance(cap, (int, float)) or cap <= 0:
        report(f"{args.name}: workspaceCapping.dailyQuotaGb = {cap}: must be a positive cap", None)


def validate_alert_rule(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SCHEDULED_QUERY_RULE or not applies(args):
        return
    if args.props.get("skipQueryValidation") is True:
        report(f"{args.name}: skipQueryValidation must stay false (queries are validated)", None)
    scopes = args.props.get("scopes") or []
    if len(scopes) != 1:
        report(f"{args.name}: scopes must name exactly one resource, got {len(scopes)}", None)
    if args.props.get("enabled") is not False and not _get(args.props, "actions", "actionGroups"):
        report(f"{args.name}: an enabled rule must notify at least one action group", None)


def validate_common_alert_schema(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ACTION_GROUP or not applies(args):
        return
    for kind in ("webhookReceivers", "logicAppReceivers"):
        for receiver in args.props.get(kind) or ():
            if receiver.get("useCommonAlertSchema") is not True:
                report(
                    f"{args.name}: {kind} {receiver.get('name')} must use the common alert schema",
                    None,
                )
    if len(args.props.get("webhookReceivers") or ()) > 10:
        report(f"{args.name}: at most 10 webhook receivers per action group", None)
    short = str(args.props.get("groupShortName", ""))
    if not 1 <= len(short) <= 12:
        report(f"{args.name}: groupShortName = {short!r}: must be 1..12 chars", None)


def validate_workflow_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != WORKFLOW or not applies(args):
        return
    definition = str(args.props.get("definition", ""))
    if _SECRET_VALUE_RE.search(definition):
        report(f"{args.name}: the workflow definition contains a literal webhook URL/secret", None)
    for name, param in (args.props.get("parameters") or {}).items():
        if _SECRET_VALUE_RE.search(str(param.get("value", ""))) and param.get("type") not in (
            "SecureString",
            "SecureObject",
        ):
            report(f"{args.name}: parameter {name} holds a secret and must be SecureString", None)


def _stacks_schema(extra: Mapping[str, Any] | None = None) -> PolicyConfigSchema:
    properties: dict[str, dict[str, Any]] = {
        "stacks": {"type": "array", "items": {"type": "string"}, "default": list(DEFAULT_STACKS)}
    }
    properties.update(extra or {})
    return PolicyConfigSchema(properties=properties)


def _policy(
    name: str, description: str, validate: Validation, extra: Mapping[str, Any] | None = None
) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=_stacks_schema(extra),
    )


def policies() -> list[ResourceValidationPolicy]:
    """The pack's policies (built on demand: constructing a PolicyPack starts a server)."""
    return [
        _policy(
            "appinsights-local-auth-disabled",
            "Application Insights accepts only Entra ID-authenticated ingestion.",
            validate_local_auth_disabled,
        ),
        _policy(
            "stateful-resources-protected",
            "Workspace, component and resource group are protected from deletion.",
            validate_stateful_protected,
        ),
        _policy(
            "connection-string-secret",
            "The component's connection string and instrumentation key are secret outputs.",
            validate_connection_string_secret,
        ),
        _policy(
            "no-literal-secret-in-container-env",
            "Container env vars never carry literal credentials (secretRef only).",
            validate_no_literal_secret_env,
        ),
        _policy(
            "required-tags",
            f"Taggable resources carry {', '.join(REQUIRED_TAGS)}.",
            validate_required_tags,
        ),
        _policy(
            "workspace-retention-floor",
            "Log Analytics retention is at least the configured floor.",
            validate_retention_floor,
            {"minRetentionDays": {"type": "integer", "default": DEFAULT_MIN_RETENTION_DAYS}},
        ),
        _policy(
            "workspace-daily-cap",
            "Log Analytics has a positive daily ingestion cap.",
            validate_daily_cap,
        ),
        _policy(
            "alert-rule-sane",
            "Alert rules keep query validation, one scope, and notify someone.",
            validate_alert_rule,
        ),
        _policy(
            "action-group-common-schema",
            "Webhook and Logic App receivers use the common alert schema.",
            validate_common_alert_schema,
        ),
        _policy(
            "workflow-secrets-secure",
            "Logic App definitions hold no literal webhook URL; secrets are SecureString.",
            validate_workflow_secrets,
        ),
    ]
