"""Reading a field of a provider's response, whatever its shape: ``get`` and ``getter``.

openai returns pydantic v2 models (Azure-only keys such as ``content_filter_results`` arrive as
extras); dicts and plain objects are read too. Every module that reads a response or a stream
chunk goes through these two, so they are tuned for the stream hot path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MISSING = object()

_model_types: dict[type, bool] = {}
_class_attrs: dict[tuple[type, str], bool] = {}


def _is_model_type(t: type) -> bool:
    """A pydantic v2 model (openai's response types): fields in ``__dict__``, extras in
    ``__pydantic_extra__``. Not a Mapping (those keep the generic path)."""
    try:
        from pydantic import BaseModel
    except Exception:
        return False
    return (
        issubclass(t, BaseModel)
        and hasattr(BaseModel, "__pydantic_extra__")
        and not issubclass(t, Mapping)
    )


def _model_get(obj: Any, t: type, key: str) -> Any:
    """``get`` on a pydantic v2 model without its slow missing-attribute path (an exception per
    miss: Azure-only keys such as ``content_filter_results`` are missing on every OpenAI chunk).
    A key the class itself defines (a property, a method) falls back to ``getattr``."""
    d = obj.__dict__
    if key in d:
        return d[key]
    extra = obj.__pydantic_extra__
    if extra and key in extra:
        return extra[key]
    has = _class_attrs.get((t, key))
    if has is None:
        has = any(key in k.__dict__ for k in t.__mro__)
        if len(_class_attrs) < 4096:
            _class_attrs[(t, key)] = has
    return getattr(obj, key, None) if has else None


def _is_model(t: type) -> bool:
    is_model = _model_types.get(t)
    if is_model is None:
        is_model = _is_model_type(t)
        if len(_model_types) < 1024:
            _model_types[t] = is_model
    return is_model


def getter(obj: Any) -> Any:
    """``lambda key: get(obj, key)`` for reading many keys of one object on a hot path (stream
    chunks): a dict's or a pydantic v2 model's own ``.get`` (fields and extras read at once),
    else the generic ``get``."""
    t = type(obj)
    if t is dict:
        return obj.get
    if obj is not None and _is_model(t):
        try:
            fields = obj.__dict__
            extra = obj.__pydantic_extra__
            return {**fields, **extra}.get if extra else fields.get
        except Exception:
            pass
    return lambda key: get(obj, key)


def get(obj: Any, key: str) -> Any:
    """``obj[key]`` for mappings, ``obj.key`` for objects (pydantic extras included), else None."""
    if obj is None:
        return None
    t = type(obj)
    if t is dict:  # fast path: the ABC check below is slow on hot stream paths
        return obj.get(key)
    if _is_model(t) and not key.startswith("_"):
        try:
            return _model_get(obj, t, key)
        except Exception:
            pass  # e.g. a model built without __dict__: the generic path below decides
    try:
        value = getattr(obj, key, _MISSING)
    except Exception:
        return None
    if value is not _MISSING:
        return value
    return obj.get(key) if isinstance(obj, Mapping) else None
