"""The stack's Container Apps environment and its Container Apps, wired to Application Insights.

One environment (logs → the workspace) holds every app of ``containerApps``; each app gets its
own container, scale, ``OTEL_SERVICE_NAME`` (the service every workbook and rule splits by),
sampler, pricing map and, where it needs one, its own identity. The connection string reaches
each container only as a Container App secret referenced by ``secretRef``; with local auth
disabled each app also gets a user-assigned identity holding "Monitoring Metrics Publisher" on
the component and ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING`` (Entra ID ingestion). With an
app's ``keyVaultId`` the secret is a Key Vault reference instead: the kit stores the connection
string in that vault and the app's identity reads it ("Key Vault Secrets User"), so the value
never sits in the Container App's own configuration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from llm_insights import contract
from pulumi_azure_native import app, authorization, keyvault, managedidentity, operationalinsights

from llm_insights_kit import app_env
from llm_insights_kit.stack_config.schema import ContainerAppConfig, app_telemetry_env

CONNECTION_STRING_SECRET = "appinsights-connection-string"
# Built-in role that may send telemetry to a component with local auth disabled.
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
# Built-in role that may read secret values (RBAC-mode vaults).
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"

# Env var names come from the telemetry contract (the SDK's and the standard OTEL ones).
ENV_CONNECTION_STRING = contract.ENV_CONNECTION_STRING
ENV_AUTHENTICATION_STRING = app_env.ENV_AUTHENTICATION_STRING
ENV_ENVIRONMENT = contract.ENV_ENVIRONMENT
ENV_AZURE_CLIENT_ID = "AZURE_CLIENT_ID"
ENV_SERVICE_NAME = app_env.ENV_OTEL_SERVICE_NAME
ENV_RESOURCE_ATTRIBUTES = app_env.ENV_OTEL_RESOURCE_ATTRIBUTES
ENV_TRACES_SAMPLER = app_env.ENV_OTEL_TRACES_SAMPLER
ENV_TRACES_SAMPLER_ARG = app_env.ENV_OTEL_TRACES_SAMPLER_ARG


@dataclass(frozen=True)
class AppHostingArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    environment: str
    apps: Sequence[ContainerAppConfig]
    workspace_name: pulumi.Input[str]
    workspace_customer_id: pulumi.Input[str]
    component_id: pulumi.Input[str]
    connection_string: pulumi.Input[str]
    entra_id_ingestion: bool
    tags: Mapping[str, str]


def plain_env(environment: str, app: ContainerAppConfig) -> list[tuple[str, str]]:
    """The non-secret settings an app gets, sorted by name (the kit's definition, which the
    local demo also runs its apps with)."""
    return sorted(app_telemetry_env(environment, app.telemetry).items())


@dataclass(frozen=True)
class DeployedApp:
    """What the stack exports of one app."""

    app_id: pulumi.Output[str]
    fqdn: pulumi.Output[str]
    identity_client_id: pulumi.Output[str] | None


class AppHosting(pulumi.ComponentResource):
    """Managed environment (logs → the workspace) and one Container App per configured app.

    ``apps``: app name → ``DeployedApp``. An app from the deprecated ``containerApp.*`` keys keeps
    the resource names it always had (``<name>-app``, ``<name>-identity``, …), so moving a stack to
    this version replaces nothing; ``containerApps`` apps are named ``<name>-<app>-…``."""

    apps: dict[str, DeployedApp]

    def __init__(
        self, name: str, args: AppHostingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-insights:infra:AppHosting", name, None, opts)
        names = [a.name for a in args.apps]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"AppHosting needs apps with distinct names: {names}")
        keys = operationalinsights.get_shared_keys_output(
            resource_group_name=args.resource_group_name,
            workspace_name=args.workspace_name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.environment = app.ManagedEnvironment(
            f"{name}-env",
            resource_group_name=args.resource_group_name,
            location=args.location,
            app_logs_configuration=app.AppLogsConfigurationArgs(
                destination="log-analytics",
                log_analytics_configuration=app.LogAnalyticsConfigurationArgs(
                    customer_id=args.workspace_customer_id,
                    shared_key=pulumi.Output.secret(keys.primary_shared_key),
                ),
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.apps = {
            spec.name: self._app(name if spec.legacy else f"{name}-{spec.name}", args, spec)
            for spec in args.apps
        }
        self.register_outputs(
            {"apps": {k: {"appId": a.app_id, "fqdn": a.fqdn} for k, a in self.apps.items()}}
        )

    def _app(self, name: str, args: AppHostingArgs, spec: ContainerAppConfig) -> DeployedApp:
        """One app's container, secret and (when it needs one) identity and role assignments."""
        child = pulumi.ResourceOptions(parent=self)
        env_vars: list[app.EnvironmentVarArgs] = [
            app.EnvironmentVarArgs(name=ENV_CONNECTION_STRING, secret_ref=CONNECTION_STRING_SECRET)
        ]
        env_vars += [
            app.EnvironmentVarArgs(name=k, value=v) for k, v in plain_env(args.environment, spec)
        ]
        secret = app.SecretArgs(
            name=CONNECTION_STRING_SECRET, value=pulumi.Output.secret(args.connection_string)
        )
        identity_args = None
        identity_client_id = None
        depends: list[pulumi.Resource] = [self.environment]
        key_vault = spec.key_vault()
        if args.entra_id_ingestion or key_vault is not None:
            identity = managedidentity.UserAssignedIdentity(
                f"{name}-identity",
                resource_group_name=args.resource_group_name,
                location=args.location,
                tags=dict(args.tags),
                opts=child,
            )
            client = authorization.get_client_config_output(
                opts=pulumi.InvokeOutputOptions(parent=self)
            )

            def grant(suffix: str, scope: pulumi.Input[str], role: str, why: str) -> None:
                depends.append(  # the app must not start before it holds the role
                    authorization.RoleAssignment(
                        f"{name}-{suffix}",
                        scope=scope,
                        principal_id=identity.principal_id,
                        principal_type="ServicePrincipal",
                        role_definition_id=pulumi.Output.concat(
                            "/subscriptions/",
                            client.subscription_id,
                            "/providers/Microsoft.Authorization/roleDefinitions/",
                            role,
                        ),
                        description=f"{why} (llm-insights)",
                        opts=child,
                    )
                )

            identity_args = app.ManagedServiceIdentityArgs(
                type="UserAssigned", user_assigned_identities=[identity.id]
            )
            identity_client_id = identity.client_id
            env_vars.append(
                app.EnvironmentVarArgs(name=ENV_AZURE_CLIENT_ID, value=identity.client_id)
            )

            if args.entra_id_ingestion:
                grant(
                    "metrics-publisher",
                    args.component_id,
                    MONITORING_METRICS_PUBLISHER,
                    "Entra ID ingestion into Application Insights",
                )
                env_vars.append(
                    app.EnvironmentVarArgs(
                        name=ENV_AUTHENTICATION_STRING,
                        value=pulumi.Output.concat(
                            "Authorization=AAD;ClientId=", identity.client_id
                        ),
                    )
                )
            if key_vault is not None:
                vault_group, vault_name = key_vault
                secret_name = f"{CONNECTION_STRING_SECRET}-{args.environment}"
                stored = keyvault.Secret(
                    f"{name}-kv-connection-string",
                    resource_group_name=vault_group,
                    vault_name=vault_name,
                    secret_name=secret_name if spec.legacy else f"{secret_name}-{spec.name}",
                    properties=keyvault.SecretPropertiesArgs(
                        value=pulumi.Output.secret(args.connection_string),
                        content_type="text/plain",
                    ),
                    tags=dict(args.tags),
                    opts=child,
                )
                grant(
                    "kv-secrets-user",
                    spec.key_vault_id,
                    KEY_VAULT_SECRETS_USER,
                    "Container App reads the connection string by Key Vault reference",
                )
                secret = app.SecretArgs(
                    name=CONNECTION_STRING_SECRET,
                    key_vault_url=stored.properties.secret_uri,
                    identity=identity.id,
                )

        container_app = app.ContainerApp(
            f"{name}-app",
            container_app_name=spec.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            managed_environment_id=self.environment.id,
            identity=identity_args,
            configuration=app.ConfigurationArgs(
                active_revisions_mode="Single",
                secrets=[secret],
                ingress=app.IngressArgs(external=spec.external, target_port=spec.target_port),
            ),
            template=app.TemplateArgs(
                containers=[
                    app.ContainerArgs(
                        name=spec.name,
                        image=spec.image,
                        resources=app.ContainerResourcesArgs(cpu=spec.cpu, memory=spec.memory),
                        env=env_vars,
                    )
                ],
                scale=app.ScaleArgs(min_replicas=spec.min_replicas, max_replicas=spec.max_replicas),
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        return DeployedApp(container_app.id, container_app.latest_revision_fqdn, identity_client_id)
