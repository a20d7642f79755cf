"""The per-stack alert overrides, read from a Pulumi stack file for ``alerts test --stack``.

A stack file ``Pulumi.<stack>.yaml`` holds ``config: {llm-insights:alerts: {rule: {threshold,
severity, enabled, windowSize, evaluationFrequency}}}``; rule tests run against the rules as that
stack would deploy them, so a stricter production threshold is tested before ``pulumi up``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..artifacts import RenderContext
from ..errors import KitError
from ..fsutil import read_yaml
from ..kql.paths import KIT_ROOT

CONFIG_NAMESPACE = "llm-insights"
ALERTS_KEY = f"{CONFIG_NAMESPACE}:alerts"
ENVIRONMENT_KEY = f"{CONFIG_NAMESPACE}:environment"


def kit_root() -> Path:
    """The directory holding the kit's ``alerts/`` and stack files (the source checkout)."""
    return KIT_ROOT


def find_stack_file(stack: str, search: Sequence[Path]) -> Path:
    name = f"Pulumi.{stack}.yaml"
    for directory in search:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(d) for d in search)
    raise KitError(f"--stack {stack}", f"no {name} found (looked in {looked})")


def stack_context(
    stack: str | None, *, stack_file: Path | None = None, search: Sequence[Path] = ()
) -> RenderContext:
    """The RenderContext for *stack* (None: the rules' own defaults, no overrides)."""
    if stack is None and stack_file is None:
        return RenderContext()
    if stack_file is None:
        assert stack is not None
        stack_file = find_stack_file(stack, [*search, Path.cwd(), kit_root()])
    if stack is None:
        stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
    data = read_yaml(stack_file, "stack file") or {}
    config = data.get("config") if isinstance(data, Mapping) else None
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise KitError(str(stack_file), "config: expected a mapping")
    overrides = config.get(ALERTS_KEY) or {}
    if not isinstance(overrides, Mapping) or not all(
        isinstance(v, Mapping) for v in overrides.values()
    ):
        raise KitError(
            str(stack_file), f"config.{ALERTS_KEY}: expected a mapping of rule name -> overrides"
        )
    environment = config.get(ENVIRONMENT_KEY)
    return RenderContext(
        stack=stack,
        environment=environment if isinstance(environment, str) else stack,
        alert_overrides={str(k): dict(v) for k, v in overrides.items()},
        config_file=str(stack_file),
    )
