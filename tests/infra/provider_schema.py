"""Check declared resource inputs against the provider's own schema: pulumi-azure-native's types.

The Python classes of ``pulumi-azure-native`` accept any string where the API has an enum
(``Union[str, SomeEnum]``) and never reject a plain dict's unknown key, so a misspelled enum value
(a scheduled-query-rule ``timeAggregation`` of "Avg") or a required property left out passes
``pulumi up`` locally and fails only in Azure. This walks the inputs the engine recorded for a
resource (``infra_harness.Registered.inputs``: API property names) against the type hints of the
resource's ``<Name>Args`` class and its nested ``*Args`` input types, and reports:

- a value outside the property's enum (the enum's values, or ``ENUM_OVERRIDES``' REST values);
- a required property that is missing (required = not ``Optional`` in the provider's hints, or
  listed in ``REQUIRED_BY_API`` where the provider's type is looser than the REST API);
- a property the type does not have (a typo'd key of a plain dict);
- a scalar of the wrong kind (a string where the API wants a number or a boolean).

Enum collisions. The provider generates one Python enum per name and module: where two resources
of a module define same-named enums, one shadows the other (``monitor.ConditionOperator`` holds
eq/ne/lt/… of another resource, while the scheduled-query-rule criteria ``operator`` allows
Equals, GreaterThan, … in the REST spec). A shadowed enum shows as an enum whose docstring is not
the property's: such a property must have an entry in ``ENUM_OVERRIDES`` (the REST spec's values,
with the spec path) or in ``SAME_ENUM`` (checked: the enum is right, only its text differs), or
the check fails asking for one. Tests prove every entry is still needed.

Import submodules only (``pulumi_azure_native.monitor``), never the top package (≈360 MB).
"""

from __future__ import annotations

import collections.abc
import enum
import importlib
import inspect
import re
import sys
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import pulumi

_SPEC = "azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights"


@dataclass(frozen=True)
class EnumOverride:
    values: frozenset[str]
    source: str


# (resource token, property path with [] for list items) → the REST spec's values, where the
# provider's Python enum of that name belongs to another resource of the module.
ENUM_OVERRIDES: dict[tuple[str, str], EnumOverride] = {
    ("azure-native:monitor:ScheduledQueryRule", "criteria.allOf[].operator"): EnumOverride(
        frozenset({"Equals", "GreaterThan", "GreaterThanOrEqual", "LessThan", "LessThanOrEqual"}),
        f"{_SPEC}/stable/2023-12-01/scheduledQueryRule_API.json: ConditionOperator (the provider's "
        "monitor.ConditionOperator is another resource's eq/ne/lt/…; the provider sends "
        "2025-01-01-preview, whose values were not re-read here)",
    ),
}

# (resource token, property path) → source: required by the REST API although the provider's
# Python type marks it optional (its schema is looser than the API there).
REQUIRED_BY_API: dict[tuple[str, str], str] = {
    ("azure-native:monitor:ScheduledQueryRule", key): (
        f"{_SPEC}/stable/2023-12-01/scheduledQueryRule_API.json: ScheduledQueryRuleProperties "
        "required [enabled, criteria, scopes]"
    )
    for key in ("enabled", "criteria", "scopes")
}

# (resource token, property path) → why the enum is right although its docstring differs from
# the property's (checked against the REST spec; not a collision).
SAME_ENUM: dict[tuple[str, str], str] = {
    ("azure-native:applicationinsights:Component", "publicNetworkAccessForIngestion"): (
        "ComponentArgs types publicNetworkAccessForIngestion and publicNetworkAccessForQuery with "
        "the one enum PublicNetworkAccessType (Enabled, Disabled); its docstring is the query "
        "property's"
    ),
}


@dataclass(frozen=True)
class Problem:
    token: str
    name: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.name} ({self.token}) {self.path}: {self.message}"


# -- the provider's types -------------------------------------------------------------------------


@dataclass(frozen=True)
class Prop:
    api_name: str
    hint: Any
    required: bool
    doc: str


def args_class(token: str) -> type:
    """``azure-native:monitor:ScheduledQueryRule`` → the resource's own ``…Args`` class.

    Defined in the resource's module, not found by name alone: where an input type already has
    the name, the provider renames the resource's (``monitor.ActionGroupArgs`` is the activity-log
    alert's ``{actionGroupId, webhookProperties}``; the resource's is ``ActionGroupInitArgs``)."""
    provider, module, name = token.split(":")
    if provider != "azure-native":
        raise KeyError(f"{token}: not an azure-native resource")
    resource = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    home = sys.modules[resource.__module__]
    for candidate in (f"{name}InitArgs", f"{name}Args"):
        cls = getattr(home, candidate, None)
        if isinstance(cls, type) and cls.__module__ == resource.__module__:
            return cls
    raise KeyError(f"{token}: no Args class in {resource.__module__}")


def _namespace(fn: Any) -> dict[str, Any]:
    # The hints name pulumi.Input, an alias (pulumi/output.py) that needs Output and T resolvable.
    ns = dict(vars(sys.modules[fn.__module__]))
    ns.setdefault("Output", pulumi.Output)
    ns.setdefault("T", typing.TypeVar("T"))
    return ns


@cache
def properties(cls: type) -> dict[str, Prop]:
    """API property name → its hint, whether required, its docstring (from ``@pulumi.getter``)."""
    found: dict[str, Prop] = {}
    for klass in reversed(cls.__mro__):
        for attr in vars(klass).values():
            fget = getattr(attr, "fget", None)
            api_name = getattr(fget, "_pulumi_name", None)
            if api_name is None:
                continue
            hint = typing.get_type_hints(fget, globalns=_namespace(fget))["return"]
            found[api_name] = Prop(api_name, hint, not _optional(hint), inspect.getdoc(fget) or "")
    return found


def _is_input_wrapper(arg: Any) -> bool:
    origin = typing.get_origin(arg)
    return origin is collections.abc.Awaitable or arg is pulumi.Output or origin is pulumi.Output


def _union_args(hint: Any) -> tuple[Any, ...]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


def _optional(hint: Any) -> bool:
    return type(None) in _union_args(hint)


def _variants(hint: Any) -> list[Any]:
    """The concrete types a value may have: ``pulumi.Input`` wrappers and ``None`` removed."""
    return [a for a in _union_args(hint) if a is not type(None) and not _is_input_wrapper(a)]


def _is_input_type(cls: Any) -> bool:
    return isinstance(cls, type) and not issubclass(cls, enum.Enum) and bool(properties(cls))


def _enum_of(variants: list[Any]) -> type[enum.Enum] | None:
    enums = [v for v in variants if isinstance(v, type) and issubclass(v, enum.Enum)]
    return enums[0] if len(enums) == 1 else None


def _same_text(a: str, b: str) -> bool:
    norm = lambda s: re.sub(r"\W+", " ", s).strip().lower()  # noqa: E731
    return norm(a) == norm(b)


# -- the walk -------------------------------------------------------------------------------------

_INDEX = re.compile(r"\[\d+\]")


def pattern(path: str) -> str:
    """``criteria.allOf[0].operator`` → ``criteria.allOf[].operator`` (the table key form)."""
    return _INDEX.sub("[]", path)


class _Walker:
    def __init__(self, token: str, name: str) -> None:
        self.token = token
        self.name = name
        self.problems: list[Problem] = []
        self.enum_paths: set[str] = set()  # patterns of every enum-typed value seen

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.token, self.name, path, message))

    def object(self, cls: type, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            self.fail(path or "(inputs)", f"expected an object ({cls.__name__}), got {value!r}")
            return
        props = properties(cls)
        for key in sorted(set(value) - set(props)):
            self.fail(_join(path, key), f"{cls.__name__} has no property {key!r}")
        for key, prop in props.items():
            if key not in value or value[key] is None:
                api = REQUIRED_BY_API.get((self.token, pattern(_join(path, key))))
                if prop.required:
                    self.fail(_join(path, key), f"required by {cls.__name__}, missing")
                elif api:
                    self.fail(_join(path, key), f"required by the API ({api}), missing")
                continue
            self.value(prop.hint, value[key], _join(path, key), prop.doc)

    def value(self, hint: Any, value: Any, path: str, doc: str) -> None:
        variants = _variants(hint)
        if not variants or Any in variants:
            return
        enum_cls = _enum_of(variants)
        if enum_cls is not None:
            self.enum(enum_cls, value, path, doc)
            return
        objects = [v for v in variants if _is_input_type(v)]
        if objects:
            self.one_of(objects, value, path)
            return
        variant = variants[0]
        origin = typing.get_origin(variant)
        if origin in (list, collections.abc.Sequence):
            if not isinstance(value, list):
                self.fail(path, f"expected a list, got {value!r}")
                return
            (item,) = typing.get_args(variant)
            for i, element in enumerate(value):
                self.value(item, element, f"{path}[{i}]", doc)
        elif origin in (dict, collections.abc.Mapping):
            if not isinstance(value, Mapping):
                self.fail(path, f"expected a map, got {value!r}")
                return
            _key, item = typing.get_args(variant)
            for key, element in value.items():
                self.value(item, element, f"{path}[{key!r}]", doc)
        else:
            self.scalar(variants, value, path)

    def one_of(self, objects: list[type], value: Any, path: str) -> None:
        """One input type, or a union of them (the value must satisfy at least one)."""
        best: _Walker | None = None
        for cls in objects:
            trial = _Walker(self.token, self.name)
            trial.object(cls, value, path)
            if best is None or len(trial.problems) < len(best.problems):
                best = trial
            if not trial.problems:
                break
        assert best is not None
        self.problems += best.problems
        self.enum_paths |= best.enum_paths

    def enum(self, enum_cls: type[enum.Enum], value: Any, path: str, doc: str) -> None:
        key = (self.token, pattern(path))
        self.enum_paths.add(pattern(path))
        if key in ENUM_OVERRIDES:
            allowed, source = ENUM_OVERRIDES[key].values, ENUM_OVERRIDES[key].source
        elif _same_text(enum_cls.__doc__ or "", doc) or key in SAME_ENUM:
            allowed = frozenset(str(m.value) for m in enum_cls)
            source = f"pulumi_azure_native {enum_cls.__module__}.{enum_cls.__name__}"
        else:
            self.fail(
                path,
                f"the provider's enum {enum_cls.__name__} describes {enum_cls.__doc__!r}, not "
                f"this property ({doc!r}): it may be another resource's (shadowed). Add the REST "
                "spec's values to ENUM_OVERRIDES, or a checked reason to SAME_ENUM",
            )
            return
        if value not in allowed:
            self.fail(path, f"{value!r} is not one of {sorted(allowed)} ({source})")

    def scalar(self, variants: list[Any], value: Any, path: str) -> None:
        kinds = {
            str: isinstance(value, str),
            bool: isinstance(value, bool),
            float: isinstance(value, (int, float)) and not isinstance(value, bool),
            int: isinstance(value, (int, float)) and not isinstance(value, bool),
        }
        known = [v for v in variants if v in kinds]
        if known and not any(kinds[v] for v in known):
            names = "/".join(v.__name__ for v in known)
            self.fail(path, f"expected {names}, got {value!r}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def check_resource(token: str, inputs: Mapping[str, Any], name: str = "") -> list[Problem]:
    """Problems of one resource's recorded inputs against its provider type."""
    walker = _Walker(token, name or token)
    walker.object(args_class(token), inputs, "")
    return walker.problems


def enum_paths(token: str, inputs: Mapping[str, Any]) -> set[str]:
    """Patterns of the enum-typed properties these inputs set (for the tables' staleness tests)."""
    walker = _Walker(token, token)
    walker.object(args_class(token), inputs, "")
    return walker.enum_paths


def check_resources(resources: Iterator[Any] | list[Any]) -> list[Problem]:
    """Problems of every azure-native custom resource of a run (``infra_harness.Registered``)."""
    problems: list[Problem] = []
    for r in resources:
        if r.custom and r.type.startswith("azure-native:"):
            problems += check_resource(r.type, r.inputs, r.name)
    return problems


def enum_at(token: str, path_pattern: str) -> tuple[type[enum.Enum], str]:
    """The provider's enum and the property's docstring at ``criteria.allOf[].operator`` (for the
    tests that prove each ``ENUM_OVERRIDES`` / ``SAME_ENUM`` entry is still needed)."""
    cls: Any = args_class(token)
    steps = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\])*)", path_pattern)
    for i, (key, brackets) in enumerate(steps):
        prop = properties(cls)[key]
        hint = prop.hint
        for _ in range(len(brackets) // 2):
            (hint,) = (
                a
                for a in _variants(hint)
                if typing.get_origin(a) in (list, collections.abc.Sequence)
            )
            hint = typing.get_args(hint)[0]
        variants = _variants(hint)
        if i == len(steps) - 1:
            found = _enum_of(variants)
            if found is None:
                raise KeyError(f"{token} {path_pattern}: not an enum")
            return found, prop.doc
        cls = next(v for v in variants if _is_input_type(v))
    raise KeyError(path_pattern)
