"""How the kit says what is wrong with an input file, in one place.

Every message reads ``<file>: <scope>: <key> = <value>: <what is allowed>``, e.g.
``Pulumi.prod.yaml: llm-insights:workspace.retentionInDays = 3: must be 30..730`` (stack files),
``alerts/latency.yaml: rule llm-latency-p95: severity = 7: severity must be an integer 0-4``
(rule files) or ``alerts/tests/x.yaml: test 'spike': series[0].every = 'x': expected a duration``
(rule fixtures). Values are shown as their file wrote them: stack values are the strings the
engine hands over (``plain``), rule fields JSON (``json``), fixture values Python literals
(``repr``); secrets never (``SECRET``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from typing import Any, Literal

from .errors import KitError

Style = Literal["plain", "json", "repr"]
SECRET = "<secret>"


def show(value: Any, style: Style = "json") -> str:
    """*value* as a message shows it."""
    if style == "repr":
        return repr(value)
    if style == "plain":
        return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, default=str) if isinstance(value, list | dict) else str(value)


def number(x: float) -> str:
    """``5`` for 5.0, ``0.25`` for 0.25: a bound or size as a message names it."""
    return str(int(x)) if float(x).is_integer() else str(x)


def assignment(key: str, value: Any, style: Style = "json") -> str:
    """``key = value``: the part of a message that names what the file set."""
    return f"{key} = {show(value, style)}"


def located(file: str, *scope: str) -> str:
    """``file: scope: ...``: where in which file."""
    return ": ".join((file, *scope))


def invalid(file: str, key: str, value: Any, allowed: str, style: Style = "plain") -> KitError:
    """``file: key = value: allowed`` as the error the CLI prints without a traceback."""
    return KitError(file, f"{assignment(key, value, style)}: {allowed}")


def did_you_mean(value: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of *choices*, or nothing."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
