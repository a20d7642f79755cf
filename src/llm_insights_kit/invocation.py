"""How to spell the kit's own command in what it prints, so a printed command runs as printed.

After ``make setup`` the command lives in the checkout's ``.venv/bin``, which is not on ``PATH``:
a bare ``llm-insights`` would not be found. The command is named the way the running
interpreter's environment holds it: bare when ``PATH`` finds that same file, else its path
(relative to the working directory when it lies below it).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

COMMAND = "llm-insights"


def kit_command(cwd: Path | None = None) -> str:
    """``llm-insights``, ``.venv/bin/llm-insights`` or an absolute path, shell-quoted."""
    script = Path(sys.executable).parent / COMMAND
    if not script.is_file():
        return COMMAND
    found = shutil.which(COMMAND)
    if found is not None and Path(found).resolve() == script.resolve():
        return COMMAND
    base = (cwd or Path.cwd()).resolve()
    try:
        shown = os.path.relpath(script, base) if script.is_relative_to(base) else str(script)
    except ValueError:
        shown = str(script)
    return shlex.quote(shown)


def shell_path(path: Path, cwd: Path | None = None) -> str:
    """*path* relative to the working directory when below it, shell-quoted."""
    base = (cwd or Path.cwd()).resolve()
    resolved = path.resolve()
    shown = os.path.relpath(resolved, base) if resolved.is_relative_to(base) else str(resolved)
    return shlex.quote(shown)
