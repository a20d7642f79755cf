"""One Jinja2 environment for every KQL template (workbook panels and alert rules).

Templates read names only through ``c`` (the telemetry contract module) and the macros in
``dashboards/macros/kql.j2``; undefined names fail rendering (``StrictUndefined``), so a renamed
contract constant breaks the render instead of producing a query that silently matches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from llm_insights import contract

from ..errors import KitError
from ..paths import TEMPLATES_DIR

MACROS = "macros/kql.j2"


def kql_string(value: str) -> str:
    """A KQL double-quoted string literal for ``value``."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def kql_real(value: float) -> str:
    """A KQL real literal with no float noise (0.1 → 0.1, 5 → 5.0)."""
    text = format(float(value), "g")
    return text if any(ch in text for ch in ".e") else f"{text}.0"


@lru_cache(maxsize=4)
def environment(root: Path = TEMPLATES_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.do"],
    )
    env.globals.update(c=contract, bucket_label=contract.bucket_label)
    env.filters.update(kql_string=kql_string, kql_real=kql_real)
    return env


def tidy(query: str) -> str:
    """Strip trailing spaces and blank lines so rendered KQL is stable and readable."""
    lines = [line.rstrip() for line in query.strip().splitlines()]
    return "\n".join(line for line in lines if line)


def render_string(source: str, where: str, variables: Mapping[str, Any]) -> str:
    """Render a KQL template held in a string (an alert rule's ``query``); macros pre-imported."""
    env = environment()
    try:
        template = env.from_string('{% import "' + MACROS + '" as k with context %}' + source)
        return tidy(template.render(**variables))
    except jinja2.TemplateError as exc:
        raise KitError(where, f"template error: {_describe(exc)}") from exc


def render_file(name: str, variables: Mapping[str, Any]) -> str:
    """Render a template file under ``dashboards/``."""
    env = environment()
    try:
        return env.get_template(name).render(**variables)
    except jinja2.TemplateError as exc:
        raise KitError(f"dashboards/{name}", f"template error: {_describe(exc)}") from exc


def _describe(exc: jinja2.TemplateError) -> str:
    line = getattr(exc, "lineno", None)
    where = f" (line {line})" if line else ""
    hint = "names come from the contract (c.<NAME>) or the macros (k.<macro>)"
    return f"{exc.message or exc}{where}; {hint}"
