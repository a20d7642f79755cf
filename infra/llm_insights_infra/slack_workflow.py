"""The Logic App definition that turns an Azure Monitor common-alert-schema payload into Slack.

The Slack webhook URL is a ``SecureString`` workflow parameter: the definition only refers to it
as ``@parameters('slackWebhookUrl')``, so the URL never appears in plaintext in the definition,
the run history or the Pulumi state (the parameter value is a Pulumi secret).
"""

from __future__ import annotations

from typing import Any

WEBHOOK_PARAMETER = "slackWebhookUrl"
TRIGGER_NAME = "manual"
_SCHEMA = (
    "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/"
    "workflowdefinition.json#"
)


def _essential(field: str) -> str:
    return f"@{{triggerBody()?['data']?['essentials']?['{field}']}}"


def slack_text() -> str:
    """Slack ``text``: rule, severity, condition, fire time, description and the target."""
    return (
        f"*{_essential('alertRule')}* — {_essential('severity')} "
        f"{_essential('monitorCondition')} at {_essential('firedDateTime')}\n"
        f"{_essential('description')}\n"
        f"Target: {_essential('alertTargetIDs')}"
    )


def _common_alert_schema() -> dict[str, Any]:
    """The subset of the common alert schema the workflow reads (extra fields are allowed)."""
    essentials = {
        name: {"type": "string"}
        for name in (
            "alertId",
            "alertRule",
            "severity",
            "signalType",
            "monitorCondition",
            "monitoringService",
            "firedDateTime",
            "description",
        )
    }
    essentials["alertTargetIDs"] = {"type": "array", "items": {"type": "string"}}
    return {
        "type": "object",
        "properties": {
            "schemaId": {"type": "string"},
            "data": {
                "type": "object",
                "properties": {
                    "essentials": {"type": "object", "properties": essentials},
                    "alertContext": {"type": "object"},
                },
            },
        },
    }


def workflow_definition() -> dict[str, Any]:
    """HTTP request trigger (common alert schema) → HTTP POST of a Slack message."""
    return {
        "$schema": _SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {WEBHOOK_PARAMETER: {"type": "SecureString"}},
        "triggers": {
            TRIGGER_NAME: {
                "type": "Request",
                "kind": "Http",
                "inputs": {"method": "POST", "schema": _common_alert_schema()},
            }
        },
        "actions": {
            "post_to_slack": {
                "type": "Http",
                "runAfter": {},
                "inputs": {
                    "method": "POST",
                    "uri": f"@parameters('{WEBHOOK_PARAMETER}')",
                    "headers": {"Content-Type": "application/json"},
                    "body": {"text": slack_text()},
                },
                "runtimeConfiguration": {"secureData": {"properties": ["inputs"]}},
            }
        },
        "outputs": {},
    }
