"""The never-raise rule: instrumentation failures are caught, logged once per site, and counted.

Whatever goes wrong inside the SDK (a surprising response shape, a broken exporter, a bug), the
host app's call proceeds and returns exactly what it would have without the SDK.
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


def report(component: str, exc: BaseException) -> None:
    """Log the first failure of *component* (with traceback) and count every one."""
    try:
        with _lock:
            first = component not in _logged
            _logged.add(component)
            _counts[component] = _counts.get(component, 0) + 1
        if first:
            logger.warning(
                "llm_insights: instrumentation failure in %s (logged once; the app is unaffected)",
                component,
                exc_info=exc,
            )
        from . import _state  # late: _state imports the metrics that import this module

        _state.instruments().add(c.SDK_ERRORS, 1, {c.ATTR_SDK_COMPONENT: component})
    except Exception:
        pass


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
