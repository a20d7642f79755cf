"""A deployed stack's outputs: the component the checks query and the ids of what it deployed.

Read from ``pulumi stack output --json --stack <name>`` (run in the project directory), or from a
file holding that command's output (``--outputs``), e.g. saved by CI after ``pulumi up``. The
names are the ones ``infra/__main__.py`` exports.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import KitError
from ..paths import KIT_ROOT

COMPONENT = "appInsightsId"
WORKSPACE = "workspaceId"
RULES = "alertRuleIds"
WORKBOOKS = "workbookIds"
PULUMI_TIMEOUT_S = 120


@dataclass(frozen=True)
class StackOutputs:
    component_id: str
    workspace_id: str = ""
    alert_rule_ids: dict[str, str] = field(default_factory=dict)
    workbook_ids: dict[str, str] = field(default_factory=dict)
    source: str = ""

    @classmethod
    def parse(cls, data: Any, source: str) -> StackOutputs:
        if not isinstance(data, dict):
            raise KitError(
                source, "expected a JSON object (the output of `pulumi stack output --json`)"
            )
        component = data.get(COMPONENT)
        if not isinstance(component, str) or not component.startswith("/subscriptions/"):
            raise KitError(
                source,
                f"{COMPONENT} = {component!r}: expected the Application Insights component's "
                "resource id (/subscriptions/…/providers/Microsoft.Insights/components/…); has "
                "the stack been deployed with `pulumi up`?",
            )
        ids: dict[str, dict[str, str]] = {}
        for key in (RULES, WORKBOOKS):
            value = data.get(key) or {}
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise KitError(source, f"{key}: expected an object of names to resource ids")
            ids[key] = dict(value)
        workspace = data.get(WORKSPACE)
        return cls(
            component,
            workspace if isinstance(workspace, str) else "",
            ids[RULES],
            ids[WORKBOOKS],
            source,
        )


def read_outputs(stack: str, outputs_file: Path | None = None) -> StackOutputs:
    """The stack's outputs from *outputs_file*, else from the pulumi CLI."""
    if outputs_file is not None:
        try:
            text = outputs_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise KitError(str(outputs_file), f"cannot read it: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise KitError(str(outputs_file), f"not JSON: {exc}") from None
        return StackOutputs.parse(data, str(outputs_file))
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise KitError(
            "pulumi",
            "the pulumi CLI is not on PATH; install it (https://www.pulumi.com/docs/install/) "
            f"or pass --outputs FILE holding `pulumi stack output --json --stack {stack}`",
        )
    command = [pulumi, "stack", "output", "--json", "--stack", stack]
    try:
        done = subprocess.run(
            command,
            cwd=KIT_ROOT,
            capture_output=True,
            text=True,
            timeout=PULUMI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KitError(" ".join(command[1:]), f"could not run: {exc}") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise KitError(
            f"pulumi stack output --stack {stack}",
            f"exit code {done.returncode}: {detail[-1] if detail else 'no output'}",
        )
    try:
        data = json.loads(done.stdout)
    except ValueError as exc:
        raise KitError(f"pulumi stack output --stack {stack}", f"not JSON: {exc}") from None
    return StackOutputs.parse(data, f"pulumi stack output --stack {stack}")
