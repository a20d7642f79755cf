"""The never-raise rule: instrumentation failures are caught, logged once per site, and counted.

Whatever goes wrong inside the SDK (a surprising response shape, a broken exporter, a bug), the
host app's call proceeds and returns exactly what it would have without the SDK.

A leaf module (it imports only the contract): every other SDK module reports through it, so it
must not import the instrument stack back. The metrics side (``_state``) registers the function
that records each failure on ``llm_insights.sdk.errors`` with :func:`on_failure`.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from . import contract as c

logger = logging.getLogger("llm_insights")

F = TypeVar("F", bound=Callable[..., Any])

_logged: set[str] = set()
_lock = threading.Lock()
_counts: dict[str, int] = {}


def _no_sink(component: str) -> None:
    """Until the metrics side registers its sink, failures are only logged and counted here."""


_sink: Callable[[str], None] = _no_sink


def on_failure(sink: Callable[[str], None]) -> None:
    """Call *sink(component)* for every failure counted from now on (the error metric)."""
    global _sink
    _sink = sink


def _count(component: str, log_key: str) -> bool:
    """Count one failure of *component*; True the first time *log_key* is seen (log it)."""
    with _lock:
        first = log_key not in _logged
        _logged.add(log_key)
        _counts[component] = _counts.get(component, 0) + 1
    return first


def report(component: str, exc: BaseException) -> None:
    """Log the first failure of *component* (with traceback) and count every one."""
    try:
        if _count(component, component):
            logger.warning(
                "llm_insights: instrumentation failure in %s (logged once; the app is unaffected)",
                component,
                exc_info=exc,
            )
        _sink(component)
    except Exception:
        pass


def report_invalid(component: str, field: str, value: Any, recorded_as: str) -> None:
    """A value from outside (the provider's response, the app) the SDK could not use.

    Not a bug, so no traceback: the first bad value of each *field* is logged (with its type and
    a short repr), every one is counted in ``llm_insights.sdk.errors`` under *component*.
    """
    try:
        if _count(component, f"{component}:{field}"):
            shown = repr(value)
            if len(shown) > 40:
                shown = shown[:37] + "..."
            logger.warning(
                "llm_insights: invalid %s = %s (%s), recorded as %s "
                "(logged once per field; counted in %s{%s=%s})",
                field,
                shown,
                type(value).__name__,
                recorded_as,
                c.SDK_ERRORS.name,
                c.ATTR_SDK_COMPONENT,
                component,
            )
        _sink(component)
    except Exception:
        pass


def count(component: str) -> None:
    """Count one degradation the caller has already explained in its own log line."""
    try:
        _count(component, component)
        _sink(component)
    except Exception:
        pass


def forget_logged() -> None:
    """Log each failure site's next failure again (``_state.reset()``; counts are kept)."""
    with _lock:
        _logged.clear()


def error_counts() -> dict[str, int]:
    """Failures per component since start (for tests and diagnostics)."""
    with _lock:
        return dict(_counts)


def guarded(component: str, default: Any = None) -> Callable[[F], F]:
    """Decorate an SDK-internal function so it returns *default* instead of raising."""

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                report(component, exc)
                return default

        return wrapper  # type: ignore[return-value]

    return deco
