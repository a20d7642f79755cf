"""A stack file as the engine sees it (``engine_values``) and typed reads of one key
(``Reader``), each failure a ``KitError`` naming the file and the key."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .. import messages
from ..errors import KitError
from ..messages import SECRET, invalid
from .schema import KEYS_BY_NAME, NAMESPACE, Key


class Reader:
    """Reads raw string values of one stack, raising ``KitError`` that names file and key."""

    def __init__(self, raw: Mapping[str, Any], secret_keys: frozenset[str], config_file: str):
        self.raw = raw
        self.secret_keys = secret_keys
        self.config_file = config_file

    def fail(self, key: str, value: Any, allowed: str) -> KitError:
        full = f"{NAMESPACE}:{key}" if ":" not in key else key
        secret = KEYS_BY_NAME.get(key, Key("", "", "")).secret
        return invalid(self.config_file, full, SECRET if secret else value, allowed)

    def has(self, key: str) -> bool:
        return f"{NAMESPACE}:{key}" in self.raw

    def value(self, key: str) -> Any:
        """The decoded value (objects/arrays from JSON, scalars as given), or the key default."""
        spec = KEYS_BY_NAME[key]
        full = f"{NAMESPACE}:{key}"
        if full not in self.raw:
            return spec.default
        raw = self.raw[full]
        if spec.type in ("object", "array") and isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError:
                kind = "a mapping" if spec.type == "object" else "a list"
                raise self.fail(key, raw, f"must be {kind}") from None
        return raw

    def string(self, key: str, pattern: re.Pattern[str] | None = None, allowed: str = "") -> Any:
        value = self.value(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, value, "must be a non-empty string")
        if pattern is not None and not pattern.match(value):
            raise self.fail(key, value, allowed)
        return value

    def boolean(self, key: str) -> Any:
        value = self.value(key)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self.fail(key, value, "must be true or false")

    def integer(self, key: str, lo: int, hi: int) -> Any:
        value = self.value(key)
        if value is None:
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            number = int(value) if not isinstance(value, float) else None
            if number is None:
                raise ValueError
        except (TypeError, ValueError):
            raise self.fail(key, value, f"must be an integer {lo}..{hi}") from None
        if not lo <= number <= hi:
            raise self.fail(key, value, f"must be {lo}..{hi}")
        return number

    def number(self, key: str, lo: float, hi: float, *, lo_open: bool = False) -> Any:
        value = self.value(key)
        if value is None:
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            raise self.fail(key, value, "must be a number") from None
        low_ok = number > lo if lo_open else number >= lo
        if not (low_ok and number <= hi) or number != number:
            if lo_open:
                raise self.fail(
                    key, value, f"must be > {messages.number(lo)} and ≤ {messages.number(hi)}"
                )
            raise self.fail(key, value, f"must be {messages.number(lo)}..{messages.number(hi)}")
        return number

    def secret(self, key: str, pattern: re.Pattern[str], allowed: str) -> str | None:
        full = f"{NAMESPACE}:{key}"
        if full not in self.raw:
            return None
        value = self.raw[full]
        if full not in self.secret_keys:
            raise KitError(
                self.config_file,
                f"{full} is set in plaintext: must be a secret "
                f"(pulumi config set --secret {key} <value>)",
            )
        if value is ENCRYPTED:
            return ENCRYPTED  # ciphertext in the stack file: set, checked when decrypted
        if not isinstance(value, str) or not pattern.match(value):
            raise self.fail(key, value, allowed)
        return value


class _Encrypted(str):
    """A ``secure:`` value read from a stack file: the secret is set but only Pulumi can read it."""


ENCRYPTED = _Encrypted("<encrypted>")


def engine_values(config: Mapping[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """A stack file's ``config:`` as the Pulumi CLI hands it to the program.

    Scalars become strings, objects and lists JSON (so both readers see identical values and give
    identical messages); ``{secure: …}`` values are secret keys whose value is ``ENCRYPTED``.
    """
    values: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in config.items():
        key = str(key)
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            values[key] = ENCRYPTED
            secret.add(key)
        elif isinstance(value, bool):
            values[key] = "true" if value else "false"
        elif isinstance(value, Mapping | list):
            values[key] = json.dumps(value)
        elif value is None:
            values[key] = ""
        else:
            values[key] = str(value)
    return values, frozenset(secret)
