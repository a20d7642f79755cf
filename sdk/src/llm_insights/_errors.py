"""``error.type`` by what happened: the HTTP status of a failed call, read through wrappers.

The kit's metrics, panels and rules read ``error.type`` as the HTTP status where there is one
("429" is throttling, "5xx" a server error). Frameworks wrap the client's error in their own
(Agent Framework's ``ChatClientException``, Semantic Kernel's ``ServiceResponseException``) and
write the wrapper's class as ``error.type``; the status is still there to read:

* in the exception itself, when the span ends while it propagates: its cause chain
  (``__cause__``, ``__context__``, the wrapper's ``inner_exception`` or exception arguments),
  where the client's error has ``status_code`` (openai, httpx's ``response.status_code``);
* in what the span recorded: ``http.response.status_code``, an ``exception`` event's type,
  message and stack trace, or the status description (Semantic Kernel sets ``repr(error)``,
  which names the inner error) — openai's errors say ``Error code: 429`` in their message
  (openai-python ``_exceptions.py``, ``APIStatusError``), and each openai error class stands
  for one status (``_semconv_compat.ERROR_TYPE_VALUES``).

Nothing is guessed: without a status the wrapper's own ``error.type`` stays.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from . import _semconv_compat as sc
from . import contract as c

HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
_STATUS_ERROR = 2  # opentelemetry.trace.StatusCode.ERROR
_MAX_CHAIN = 8
# openai-python APIStatusError: f"Error code: {status} - {body}"
_STATUS_TEXT = re.compile(r"\bError code: ([1-5]\d\d)\b")
# an openai error class named in a traceback or repr: "openai.RateLimitError", "RateLimitError("
_CLASS_TEXT = re.compile(r"\b(?:openai(?:\._exceptions)?\.)?([A-Z]\w*Error)\b")


def _http_status(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 100 <= value <= 599:
        return str(value)
    if isinstance(value, str) and len(value) == 3 and value.isdigit() and value[0] in "12345":
        return value
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """*exc* and the errors it wraps, nearest first."""
    out: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo and len(out) < _MAX_CHAIN:
        e = todo.pop(0)
        if not isinstance(e, BaseException) or any(e is seen for seen in out):
            continue
        out.append(e)
        todo.extend((e.__cause__, getattr(e, "inner_exception", None), e.__context__))
        todo.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
    return out


def status_of_exception(exc: BaseException) -> str | None:
    """The HTTP status an exception or an error it wraps carries, else None."""
    for e in _chain(exc):
        status = _http_status(getattr(e, "status_code", None))
        if status is None:
            status = _http_status(getattr(getattr(e, "response", None), "status_code", None))
        if status is None:
            status = sc.ERROR_TYPE_VALUES.get(type(e).__name__)
        if status is not None:
            return status
    return None


def error_type_of(exc: BaseException) -> str:
    """``error.type`` of an exception: the HTTP status it (or an error it wraps) carries, else
    its class name."""
    return status_of_exception(exc) or type(exc).__name__ or c.ERROR_TYPE_OTHER


def _status_in_text(text: Any) -> str | None:
    if not isinstance(text, str) or not text:
        return None
    m = _STATUS_TEXT.search(text)
    if m:
        return m.group(1)
    for name in _CLASS_TEXT.findall(text):
        status = sc.ERROR_TYPE_VALUES.get(name)
        if status is not None:
            return status
    return None


def _names_class(error: str, exc: BaseException) -> bool:
    """Whether *error* (an ``error.type`` value) names *exc*'s class, in any form frameworks
    write it (``Name``, ``module.Name``, ``<class 'module.Name'>``)."""
    name = type(exc).__name__
    return error == name or error.endswith((f".{name}", f".{name}'>", f"'{name}'>"))


def error_type_of_span(
    attrs: Mapping[str, Any],
    status: Any = None,
    events: Sequence[Any] = (),
    in_flight: BaseException | None = None,
    fields: Mapping[str, Any] | None = None,
) -> str | None:
    """The ``error.type`` a finished span's call failed with, as the kit records it: its HTTP
    status when the span or the exception ending it says, else the span's own ``error.type``
    (any release's name), else ``_OTHER`` for an error status; None when it did not fail.

    *in_flight*: the exception propagating while the span ended (``sys.exc_info()`` in the
    span processor), read only when it is the one the span names. *fields*: ``sc.read(attrs)``
    when the caller has it.
    """
    error = (fields if fields is not None else sc.read(attrs)).get(sc.ERROR_TYPE)
    error = error if isinstance(error, str) and error else None
    failed = getattr(getattr(status, "status_code", None), "value", None) == _STATUS_ERROR
    if error is None and not failed:
        return None
    if error is not None and _http_status(error) is not None:
        return error
    found = _http_status(attrs.get(HTTP_RESPONSE_STATUS_CODE))
    if (
        found is None
        and in_flight is not None
        and (error is None or _names_class(error, in_flight))
    ):
        found = status_of_exception(in_flight)
    if found is None:
        for event in events:
            if getattr(event, "name", None) != "exception":
                continue
            ea = getattr(event, "attributes", None) or {}
            for key in ("exception.message", "exception.stacktrace", "exception.type"):
                found = _status_in_text(ea.get(key))
                if found is not None:
                    break
            if found is not None:
                break
    if found is None:
        found = _status_in_text(getattr(status, "description", None))
    return found or error or c.ERROR_TYPE_OTHER
