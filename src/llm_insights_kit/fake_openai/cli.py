"""``python -m llm_insights_kit.fake_openai``: the fake OpenAI / Azure OpenAI API as a tool.

Serves until interrupted. Every request is answered by a scenario (the built-ins of
:data:`~.scripted.BUILTIN_SCENARIOS`, or a ``--script`` file's), picked per request by the
``x-standin-scenario`` header or a ``standin-<scenario>`` model (or Azure deployment) name,
else by ``--default`` for every request.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import textwrap
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import KitError
from ..fsutil import read_yaml
from ..messages import did_you_mean
from .scripted import (
    BUILTIN_SCENARIOS,
    MODEL_SCENARIO_PREFIX,
    SCENARIO_HEADER,
    SCENARIO_HELP,
    Scripted,
)
from .server import FakeOpenAI

DEFAULT_PORT = 8089
SCRIPT_KEYS = ("scenarios", "default", "models")
_FIELDS = tuple(f.name for f in dataclasses.fields(Scripted))


def _epilog() -> str:
    width = max(len(n) for n in SCENARIO_HELP)
    lines = [f"  {name:<{width}}  {text}" for name, text in SCENARIO_HELP.items()]
    return "\n".join(
        [
            "scenarios (what a request gets):",
            *lines,
            "",
            "picking one, first match wins:",
            f"  header      {SCENARIO_HEADER}: <scenario>      (any client that sets headers)",
            f"  model name  {MODEL_SCENARIO_PREFIX}<scenario>, e.g. model={MODEL_SCENARIO_PREFIX}"
            "tool_calls, or that Azure deployment name",
            "  --script    its models: entry for the request's model (or Azure deployment)",
            "  --default   <scenario> for every other request",
            "",
            "a --script file (YAML or JSON) adds or replaces scenarios and sets answers per model:",
            "  scenarios:",
            "    my_tool: {tool_calls: [{name: get_weather, arguments: {city: Paris}}]}",
            "    throttled: {status: 429, error_code: rate_limit_exceeded, retry_after: 5}",
            "  models:",
            "    gpt-4o: {latency: 0.5, model: gpt-4o-2024-08-06}",
            "  default: {text: Hello from the fake server}",
            *textwrap.wrap("fields: " + ", ".join(_FIELDS) + ".", 96, subsequent_indent="  "),
            "",
            "OpenAI clients: base_url http://127.0.0.1:PORT/v1; Azure OpenAI clients: "
            "azure_endpoint http://127.0.0.1:PORT. Details: docs/fake-openai.md.",
        ]
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m llm_insights_kit.fake_openai",
        description="A fake OpenAI / Azure OpenAI API on loopback, with scripted answers: "
        "errors, throttling, content filters, slow streams, tool calls, reasoning and cached "
        "tokens, a served model other than the one asked for.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)"
    )
    p.add_argument(
        "--deployment",
        action="append",
        default=[],
        metavar="NAME=MODEL",
        help="Azure deployment name and the model it serves (repeatable)",
    )
    p.add_argument(
        "--default", metavar="SCENARIO", help="the scenario of a request that picks none"
    )
    p.add_argument("--script", type=Path, metavar="FILE", help="scenarios from a YAML/JSON file")
    return p


def scripted(fields: Any, where: str) -> Scripted:
    """A ``Scripted`` from a mapping of its fields; a ``KitError`` naming the bad key."""
    if not isinstance(fields, Mapping):
        raise KitError(where, "expected a mapping of fields, e.g. {status: 429, retry_after: 5}")
    for key in fields:
        if key not in _FIELDS:
            raise KitError(
                f"{where}.{key}",
                "not a field" + did_you_mean(str(key), _FIELDS) + "; fields: " + ", ".join(_FIELDS),
            )
    script = Scripted(**dict(fields))
    for call in script.tool_calls or []:
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
            raise KitError(f"{where}.tool_calls", "each tool call needs a name (and arguments)")
    return script


def read_script(path: Path) -> dict[str, Any]:
    """``{scenarios: {...}, models: {...}, default: ...}`` from a script file, checked."""
    data = read_yaml(path, "script file")
    if not isinstance(data, Mapping) or set(data) - set(SCRIPT_KEYS):
        raise KitError(str(path), "expected a mapping with " + ", ".join(SCRIPT_KEYS))
    out: dict[str, Any] = {"scenarios": {}, "models": {}, "default": None}
    for section in ("scenarios", "models"):
        entries = data.get(section) or {}
        if not isinstance(entries, Mapping):
            raise KitError(f"{path}: {section}", "expected a mapping of name → fields")
        for name, fields in entries.items():
            out[section][str(name)] = scripted(fields, f"{path}: {section}.{name}")
    if data.get("default") is not None:
        out["default"] = scripted(data["default"], f"{path}: default")
    return out


def build(args: argparse.Namespace) -> FakeOpenAI:
    deployments = {}
    for item in args.deployment:
        name, sep, model = item.partition("=")
        if not sep or not name or not model:
            raise KitError(f"--deployment {item}", "expected NAME=MODEL, e.g. chat=gpt-4o")
        deployments[name] = model
    script = read_script(args.script) if args.script else {"scenarios": {}, "models": {}}
    scenarios = {**BUILTIN_SCENARIOS, **script["scenarios"]}
    default = script.get("default")
    if args.default:
        if args.default not in scenarios:
            raise KitError(
                f"--default {args.default}",
                "no such scenario" + did_you_mean(args.default, list(scenarios))
                + "; scenarios: " + ", ".join(scenarios),
            )  # fmt: skip
        default = scenarios[args.default]
    return FakeOpenAI(
        host=args.host,
        port=args.port,
        deployments=deployments,
        scenarios=script["scenarios"],
        models=script["models"],
        default=default,
    )


def main(argv: list[str] | None = None, *, stop: threading.Event | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        srv = build(args)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: --port {args.port}: cannot listen: {exc.strerror}", file=sys.stderr)
        return 2
    srv.start()
    print(
        f"fake OpenAI server on {srv.url} (OpenAI base_url {srv.base_url}, Azure "
        f"azure_endpoint {srv.azure_endpoint}); scenarios: {', '.join(srv.scenarios)}",
        flush=True,
    )
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C and a plain kill both stop it cleanly, even where the parent started it with
        # SIGINT ignored (a shell's background job), when Python installs no Ctrl-C handler.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        srv.stop()
    return 0
