"""File-system steps every command shares, turned into ``KitError`` instead of tracebacks.

``--out /etc/passwd`` or ``--db /proc/x/t.duckdb`` is bad input like any other: the user is told
which flag and what went wrong, and the CLI exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import KitError


def ensure_dir(path: Path, flag: str, what: str = "output directory") -> Path:
    """Create *path* (and its parents) if missing; *flag* names the option it came from."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise KitError(
            f"{flag} {path}", f"cannot create the {what}: a file is in the way"
        ) from None
    except OSError as exc:
        raise KitError(
            f"{flag} {path}", f"cannot create the {what}: {exc.strerror or exc}"
        ) from None
    return path


def write_text(path: Path, text: str, flag: str) -> Path:
    """Write *text* (UTF-8) to *path*, creating its directory; errors name *flag*."""
    ensure_dir(path.parent, flag)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise KitError(f"{flag} {path}", f"cannot write: {exc.strerror or exc}") from None
    return path


def read_yaml(path: Path, what: str, shown: str | None = None) -> Any:
    """The YAML document in *path* (a *what*, e.g. "stack file"), or a one-line ``KitError``.

    Unreadable, non-UTF-8 and malformed files all name the file (``shown``, default the path);
    a syntax error says ``line N, column M: <problem>`` rather than PyYAML's multi-line dump.
    """
    where = shown or str(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KitError(where, f"cannot read {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise KitError(where, f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise KitError(where, f"not valid YAML{at}: {problem}") from None
