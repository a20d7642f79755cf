"""What a track request body holds: envelopes, decoded with every size and shape bounded.

Bodies arrive gzip- or deflate-compressed or plain, as a JSON array, one object or
newline-delimited JSON (the exporters of every language). Decompression stops at the size cap,
JSON that no column could hold (non-finite numbers, integers of any length) is kept as
:class:`~.envelopes.OutOfRange` for a per-item error, and a batch's content digest lets the store
recognise a re-sent batch.
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from typing import Any

from .envelopes import OutOfRange

#: Largest request body, counted after decompression (a record over 64 MB fails ingestion in
#: the store behind Application Insights: Kusto ``string`` data type, "allowed data limit").
MAX_BODY_BYTES = 64 * 1024 * 1024


class BodyError(ValueError):
    """A request body that is not a batch of envelopes (answered with HTTP 400, or 413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _too_large(limit: int) -> BodyError:
    return BodyError(f"body larger than {limit} bytes once decompressed", 413)


def inflate(body: bytes, encoding: str, limit: int = MAX_BODY_BYTES) -> bytes:
    """*body* decompressed (gzip, deflate or none), stopping as soon as it passes *limit*.

    Decompression goes in steps of at most *limit* bytes of output, so a small body that
    inflates to gigabytes (a gzip bomb) costs no more memory than the limit.
    """
    encoding = encoding.strip().lower()
    if encoding == "gzip" or body[:2] == b"\x1f\x8b":
        kind, wbits = "gzip", 31
    elif encoding == "deflate":
        kind, wbits = "deflate", 15
    elif encoding in ("", "identity"):
        if len(body) > limit:
            raise _too_large(limit)
        return body
    else:
        raise BodyError(f"Content-Encoding {encoding!r} is not supported (gzip, deflate, identity)")
    out = bytearray()
    data = body
    try:
        while data:
            inflater = zlib.decompressobj(wbits)
            while data and not inflater.eof:
                out += inflater.decompress(data, limit + 1 - len(out))
                if len(out) > limit:
                    raise _too_large(limit)
                data = inflater.unconsumed_tail
            if not inflater.eof:
                raise BodyError(f"body is not valid {kind}: it ends before the stream does")
            data = inflater.unused_data if kind == "gzip" else b""  # gzip may hold members
    except zlib.error as exc:
        raise BodyError(f"body is not valid {kind}: {exc}") from None
    return bytes(out)


def _json_float(text: str) -> float | OutOfRange:
    value = float(text)
    return value if math.isfinite(value) else OutOfRange(text)


def _json_int(text: str) -> int | OutOfRange:
    # 20 characters hold every 64-bit integer; longer ones fit no column (and Python refuses
    # to parse integers over 4,300 digits).
    return int(text) if len(text) <= 20 else OutOfRange(text)


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=OutOfRange, parse_float=_json_float, parse_int=_json_int)


def decode_body(body: bytes, content_encoding: str = "", limit: int = MAX_BODY_BYTES) -> list[Any]:
    """The items of a track request body: gzip/deflate or plain; JSON array, object or NDJSON.

    Items are returned as sent; one that is not an envelope object becomes a per-item error
    later, with its own index. Strings keep what the JSON says (unpaired surrogates included);
    the store makes them valid. Numbers no column can hold come back as :class:`OutOfRange`.
    """
    body = inflate(body, content_encoding, limit)
    text = body.decode("utf-8-sig", errors="replace")  # invalid bytes -> U+FFFD, like Kusto
    text = text.strip()
    if not text:
        raise BodyError("body is empty; expected a JSON array of envelopes")
    try:
        try:
            parsed = _loads(text)
            return parsed if isinstance(parsed, list) else [parsed]
        except json.JSONDecodeError as first:
            items = []
            for lineno, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    items.append(_loads(line))
                except json.JSONDecodeError:
                    raise BodyError(
                        f"body is neither a JSON array nor newline-delimited JSON: line "
                        f"{lineno}: {first.msg}"
                        if lineno == 1
                        else f"newline-delimited JSON line {lineno} is not JSON"
                    ) from None
            return items
    except RecursionError:
        raise BodyError("body is JSON nested too deeply to be envelopes") from None


def batch_id(items: list[Any]) -> str:
    """A digest of a batch's content: the same items re-sent give the same id.

    Computed over the parsed items (keys sorted), so a client that re-serialises what it stored
    offline — the exporter does — is recognised whatever its key order or spacing.
    """
    canonical = json.dumps(items, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


__all__ = ["MAX_BODY_BYTES", "BodyError", "batch_id", "decode_body", "inflate"]
