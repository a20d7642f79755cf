"""Finding and reading stack files, and ``render_context``: the one way to a stack's
``RenderContext`` for ``render``, ``lint``, ``alerts test``, ``preview``, ``serve`` and ``demo``."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path

from ..artifacts import RenderContext
from ..errors import KitError
from ..fsutil import read_yaml
from ..paths import KIT_ROOT, stack_file_name
from .checks import validate
from .reader import engine_values
from .schema import KEYS_BY_NAME, StackSettings


def stack_name(path: Path) -> str:
    """``prod`` for ``Pulumi.prod.yaml`` (any other file name: its stem)."""
    name = path.name
    if name.startswith("Pulumi.") and name.endswith((".yaml", ".yml")):
        return name.removeprefix("Pulumi.").rsplit(".", 1)[0]
    return path.stem


def read_stack_file(path: Path, stack: str | None = None) -> StackSettings[str]:
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
    name = stack_file_name(stack)
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
) -> StackSettings[str] | None:
    """The validated settings of ``--stack``/``--stack-file`` (None when neither is given).

    ``--stack`` is looked up in *search*, then the current directory, then the kit checkout.
    """
    if stack is None and stack_file is None:
        return None
    if stack_file is None:
        assert stack is not None
        stack_file = find_stack_file(stack, [*search, Path.cwd(), KIT_ROOT])
    settings = read_stack_file(stack_file, stack)
    for note in settings.deprecations:  # what `pulumi up` warns about too
        print(f"warning: {stack_file}: {note}", file=sys.stderr)
    return settings


def render_context(
    stack: str | None, stack_file: Path | None = None, search: Sequence[Path] = ()
) -> RenderContext:
    """The RenderContext of a stack; with neither argument the kit's defaults (no overrides)."""
    settings = load_stack(stack, stack_file, search)
    return RenderContext() if settings is None else settings.render_context()


def workspace_retention(stack: str | None, stack_file: Path | None = None) -> timedelta:
    """How far back the stack's workspace keeps data (``workspace.retentionInDays``; the kit's
    default without a stack): the longest time range a command asks a store for."""
    settings = load_stack(stack, stack_file)
    if settings is None:
        return timedelta(days=int(KEYS_BY_NAME["workspace.retentionInDays"].default))
    return timedelta(days=settings.workspace.retention_in_days)
