"""Run the real Pulumi program (``infra/``) under ``pulumi.runtime.set_mocks``, one stack at a time.

Each run happens in a fresh ``contextvars`` context (Pulumi keeps its settings, config and root
stack in context variables), so stacks cannot leak state into each other. The recording monitor
keeps, per registered resource, its plain inputs, which input paths were Pulumi secrets, and the
``protect`` / ``additionalSecretOutputs`` / ``deleteBeforeReplace`` options, which the stock mocks
do not expose.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import runpy
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
PROJECT = "llm-insights"
STACKS = ("dev", "staging", "prod")
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
_SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

# Values the committed stack files leave to `pulumi config set --secret` (never committed).
# Tests inject them as *secret* config, the way the Pulumi CLI hands decrypted secrets over.
FAKE_SECRETS: dict[str, dict[str, str]] = {
    "dev": {},
    "staging": {
        "notifications.slackWebhookUrl": "https://hooks.slack.com/services/T0000/B0000/stagingfake",
    },
    "prod": {
        "notifications.pagerdutyUrl": "https://events.pagerduty.com/integration/prodfake/enqueue",
        "notifications.slackWebhookUrl": "https://hooks.slack.com/services/T0000/B0000/prodfake",
    },
}

ARM_TYPES = {
    "azure-native:resources:ResourceGroup": "",
    "azure-native:operationalinsights:Workspace": "Microsoft.OperationalInsights/workspaces",
    "azure-native:applicationinsights:Component": "Microsoft.Insights/components",
    "azure-native:applicationinsights:Workbook": "Microsoft.Insights/workbooks",
    "azure-native:monitor:ScheduledQueryRule": "Microsoft.Insights/scheduledQueryRules",
    "azure-native:monitor:ActionGroup": "Microsoft.Insights/actionGroups",
    "azure-native:logic:Workflow": "Microsoft.Logic/workflows",
    "azure-native:app:ManagedEnvironment": "Microsoft.App/managedEnvironments",
    "azure-native:app:ContainerApp": "Microsoft.App/containerApps",
    "azure-native:managedidentity:UserAssignedIdentity": (
        "Microsoft.ManagedIdentity/userAssignedIdentities"
    ),
    "azure-native:authorization:RoleAssignment": "Microsoft.Authorization/roleAssignments",
    "azure-native:keyvault:Secret": "Microsoft.KeyVault/vaults",
}
_NAME_INPUTS = (
    "resourceGroupName",
    "workspaceName",
    "resourceName",
    "ruleName",
    "actionGroupName",
    "workflowName",
    "environmentName",
    "containerAppName",
    "roleAssignmentName",
)


@dataclass
class Registered:
    """One resource as the engine saw it."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    secret_paths: set[str]
    protect: bool
    additional_secret_outputs: list[str]
    id: str = ""
    delete_before_replace: bool = False


@dataclass
class StackRun:
    stack: str
    config: dict[str, Any]
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    error: BaseException | None = None

    def of_type(self, token: str) -> list[Registered]:
        return [r for r in self.resources if r.type == token]

    def one(self, token: str) -> Registered:
        found = self.of_type(token)
        assert len(found) == 1, f"{self.stack}: expected one {token}, got {len(found)}"
        return found[0]

    @property
    def custom(self) -> list[Registered]:
        return [r for r in self.resources if r.custom]


def _unwrap(value: Any, path: str, secrets: set[str]) -> Any:
    """Plain value of a serialized property, recording the paths of secret-wrapped values."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG_KEY) == _SECRET_SIG:
            secrets.add(path)
            return _unwrap(value.get("value"), path, secrets)
        return {k: _unwrap(v, f"{path}.{k}" if path else k, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    return value


def _fake_id(token: str, inputs: Mapping[str, Any], name: str) -> str:
    rg = inputs.get("resourceGroupName", "rg")
    if token == "azure-native:resources:ResourceGroup":
        return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}"
    if token == "azure-native:keyvault:Secret":
        return (
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.KeyVault/"
            f"vaults/{inputs['vaultName']}/secrets/{inputs['secretName']}"
        )
    arm = ARM_TYPES.get(token, token.replace(":", "/"))
    own = next(
        (inputs[k] for k in _NAME_INPUTS[1:] if isinstance(inputs.get(k), str)),
        f"{name}-{uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:8]}",
    )
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/{arm}/{own}"


class KitMocks(pulumi.runtime.Mocks):
    """Provider stand-ins: ids shaped like ARM ids and the computed outputs the program reads."""

    def __init__(self, run: StackRun) -> None:
        self.run = run

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        rid = _fake_id(args.typ, inputs, args.name)
        state = dict(inputs)
        state["name"] = rid.rsplit("/", 1)[-1]
        seed = uuid.uuid5(uuid.NAMESPACE_URL, rid)
        if args.typ == "azure-native:operationalinsights:Workspace":
            state["customerId"] = str(seed)
        elif args.typ == "azure-native:applicationinsights:Component":
            state["instrumentationKey"] = str(seed)
            region = inputs.get("location", "westeurope")
            state["connectionString"] = (
                f"InstrumentationKey={seed};"
                f"IngestionEndpoint=https://{region}-0.in.applicationinsights.azure.com/"
            )
        elif args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            state["principalId"] = str(uuid.uuid5(seed, "principal"))
            state["clientId"] = str(uuid.uuid5(seed, "client"))
        elif args.typ == "azure-native:keyvault:Secret":
            uri = f"https://{inputs['vaultName']}.vault.azure.net/secrets/{inputs['secretName']}"
            plain = _unwrap(inputs.get("properties", {}), "", set())  # inputs keep secret wrappers
            props = {k: v for k, v in plain.items() if k != "value"}  # ARM never returns the value
            state["properties"] = {**props, "secretUri": uri, "secretUriWithVersion": f"{uri}/v1"}
        elif args.typ == "azure-native:app:ContainerApp":
            state["latestRevisionFqdn"] = f"{state['name']}.example.azurecontainerapps.io"
            identity = state.get("identity")
            if identity and isinstance(identity.get("userAssignedIdentities"), list):
                # The API answers with a map id → {principalId, clientId}, not the input list.
                state["identity"] = {
                    **identity,
                    "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]},
                }
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        self.run.invokes.append((args.token, dict(args.args)))
        if args.token == "azure-native:operationalinsights:getSharedKeys":
            return {"primarySharedKey": "fake-primary-key==", "secondarySharedKey": "x=="}, []
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "subscriptionId": SUBSCRIPTION,
                "tenantId": "00000000-0000-0000-0000-0000000000aa",
                "clientId": "00000000-0000-0000-0000-0000000000bb",
                "objectId": "00000000-0000-0000-0000-0000000000cc",
            }, []
        if args.token == "azure-native:logic:listWorkflowTriggerCallbackUrl":
            workflow = args.args.get("workflowName")
            return {
                "value": f"https://prod-00.westeurope.logic.azure.com/workflows/{workflow}/"
                f"triggers/{args.args.get('triggerName')}/paths/invoke?sig=fakesig",
                "method": "POST",
            }, []
        if args.token == "azure-native:resources:getResourceGroup":
            name = args.args["resourceGroupName"]
            return {
                "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}",
                "name": name,
                "location": "westeurope",
            }, []
        raise AssertionError(f"unexpected invoke {args.token}")


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: KitMocks, run: StackRun) -> None:
        super().__init__(mocks)
        self.run = run

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            secrets: set[str] = set()
            raw = json_format.MessageToDict(request.object)
            self.run.resources.append(
                Registered(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    custom=request.custom,
                    inputs=_unwrap(raw, "", secrets),
                    secret_paths=secrets,
                    protect=bool(request.protect),
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    id=response.id,
                    delete_before_replace=bool(request.deleteBeforeReplace),
                )
            )
        return response


def load_stack_file(stack: str) -> dict[str, Any]:
    data = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())
    return dict(data.get("config") or {})


def engine_config(
    stack_config: Mapping[str, Any], secrets: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Config as the Pulumi CLI hands it to a program: strings, objects as JSON; secret keys."""
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in stack_config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            raise AssertionError(f"{key}: committed ciphertext cannot be decrypted in tests")
        if isinstance(value, bool):
            values[key] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            values[key] = json.dumps(value)
        else:
            values[key] = str(value)
    for key, value in (secrets or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        values[full] = value
        secret_keys.append(full)
    return values, secret_keys


def _resolve(value: Any) -> tuple[Any, bool]:
    out = pulumi.Output.from_input(value)
    return _sync_await(out.future()), bool(_sync_await(out.is_secret()))


def _main() -> None:
    runpy.run_path(str(INFRA), run_name="__main__")


def _run(
    stack: str, values: dict[str, str], secret_keys: list[str], program: Callable[[], Any] = _main
) -> StackRun:
    """One program run on its own event loop, so a failed run's leftover tasks die with it."""
    try:
        previous: asyncio.AbstractEventLoop | None = (
            asyncio.get_event_loop_policy().get_event_loop()
        )
    except RuntimeError:
        previous = None
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return _run_on_loop(stack, values, secret_keys, program)
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(previous)


def _run_on_loop(
    stack: str, values: dict[str, str], secret_keys: list[str], program: Callable[[], Any]
) -> StackRun:
    run = StackRun(stack=stack, config=values)
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_all_config(values, secret_keys)
    mocks = KitMocks(run)
    pulumi.runtime.set_mocks(
        mocks, project=PROJECT, stack=stack, preview=False, monitor=RecordingMonitor(mocks, run)
    )
    # MockSettings leaves the pending-outputs set to the import-time default, shared by every run;
    # give this run (this context) its own so a failed run's tasks cannot leak into the next.
    pulumi_settings.SETTINGS.outputs = set()
    try:
        _sync_await(run_pulumi_func(program))
    except Exception as err:  # the test decides whether an error was expected
        run.error = err
        return run
    root = pulumi_settings.get_root_resource()
    for name, value in getattr(root, "outputs", {}).items():
        run.outputs[name], secret = _resolve(value)
        if secret:
            run.secret_outputs.add(name)
    return run


def run_program(
    stack: str,
    stack_config: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> StackRun:
    """Run ``infra/`` for ``stack`` (default: its committed file and the fake secrets)."""
    if stack_config is None:
        stack_config = load_stack_file(stack)
    if secrets is None:
        secrets = FAKE_SECRETS.get(stack, {})
    values, secret_keys = engine_config(stack_config, secrets)
    return contextvars.copy_context().run(_run, stack, values, secret_keys)


def run_function(program: Callable[[], Any], stack: str = "unit") -> StackRun:
    """Run ``program`` (e.g. one component) under the same recording mocks."""
    return contextvars.copy_context().run(_run, stack, {}, [], program)
