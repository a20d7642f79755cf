"""The running stack's config as one typed, validated ``StackConfig``, before any resource.

The key schema and every value check live in the kit (``llm_insights_kit.stack_config``, no
Pulumi import), which the kit's commands use on the same stack files, so ``render`` and
``pulumi up`` accept and reject exactly the same config with the same message, e.g.
``Pulumi.prod.yaml: llm-insights:workspace.retentionInDays = 3: must be 30..730``.
This module adds only what needs the engine: reading the config Pulumi hands the program,
requiring the region and the receivers' secrets, wrapping secrets as ``Output.secret`` (never
echoed), and rendering the workbooks and alert rules the stack deploys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import pulumi

from llm_insights_kit.artifacts import AlertRuleSpec, RenderContext, WorkbookArtifact
from llm_insights_kit.errors import KitError
from llm_insights_kit.stack_config.checks import validate
from llm_insights_kit.stack_config.schema import Notifications, StackSettings

#: The kit's notification settings with the secret URLs as Pulumi secret outputs.
NotificationsConfig = Notifications[pulumi.Output[str]]


@dataclass(frozen=True)
class StackConfig(StackSettings[pulumi.Output[str]]):
    """The kit's validated settings, secrets as ``Output.secret`` and the region required, with
    what the stack deploys rendered; built only by ``parse_config``."""

    workbooks: tuple[WorkbookArtifact, ...] = ()
    alert_rules: tuple[AlertRuleSpec, ...] = ()


@dataclass(frozen=True)
class Renderers:
    """The dashboards/alerts renderers (injected so components can be tested on their own)."""

    render_workbooks: Callable[[RenderContext], list[WorkbookArtifact]]
    load_rules: Callable[[RenderContext], list[AlertRuleSpec]]


def default_renderers() -> Renderers:
    from llm_insights_kit.alerts import load_rules
    from llm_insights_kit.dashboards import render_workbooks

    return Renderers(render_workbooks=render_workbooks, load_rules=load_rules)


def parse_config(
    raw: Mapping[str, Any],
    secret_keys: frozenset[str] | set[str],
    stack: str,
    renderers: Renderers | None = None,
) -> StackConfig:
    """Validate one stack's config (full keys ``ns:key`` → raw value) into a ``StackConfig``.

    ``renderers`` defaults to the kit's dashboards/alerts renderers; their errors (e.g. a bad
    ``alerts`` override) are re-raised prefixed with the stack file.
    """
    settings = validate(raw, frozenset(secret_keys), stack, deploy=True)
    config_file = settings.config_file
    assert settings.location is not None  # deploy=True requires it
    ctx = settings.render_context()
    renderers = renderers or default_renderers()
    try:
        rules = tuple(renderers.load_rules(ctx))
        workbooks = tuple(renderers.render_workbooks(ctx))
    except KitError as err:
        if str(err).startswith(config_file):
            raise
        raise KitError(config_file, str(err)) from None
    secured = settings.with_secrets(pulumi.Output.secret)
    return StackConfig(
        **{f.name: getattr(secured, f.name) for f in fields(StackSettings)},
        workbooks=workbooks,
        alert_rules=rules,
    )


def runtime_config() -> tuple[dict[str, Any], frozenset[str]]:
    """All config the Pulumi engine handed to this program, and which keys are secret.

    Pulumi exposes no public enumeration of config keys; the language host stores them in
    ``pulumi.runtime.config`` (explicit map first, then ``PULUMI_CONFIG``), which is what we read
    so that unknown keys can be rejected.
    """
    from pulumi.runtime import config as runtime

    values: dict[str, Any] = dict(runtime.get_config_env())
    values.update(runtime.CONFIG.get())
    secret = set(runtime.get_config_secret_keys_env()) | set(runtime._SECRET_KEYS.get())
    return values, frozenset(secret)


def load_stack_config(renderers: Renderers | None = None) -> StackConfig:
    """Validated config of the running stack (raises ``KitError`` before any resource)."""
    values, secret = runtime_config()
    return parse_config(values, secret, pulumi.get_stack(), renderers)
