"""Reading a started command's output in tests (``serve`` prints where it listens)."""

from __future__ import annotations

import re
import subprocess


def wait_for_line(process: subprocess.Popen[str], pattern: str) -> re.Match[str]:
    """The first line of *process*'s stdout that *pattern* matches (searched in the stripped
    line). If the output ends first, fail with what the process wrote to stderr."""
    wanted = re.compile(pattern)
    assert process.stdout is not None, "start the process with stdout=PIPE, text=True"
    for line in process.stdout:
        found = wanted.search(line.strip())
        if found:
            return found
    stderr = process.stderr.read() if process.stderr else ""
    raise AssertionError(f"no line matching {pattern!r} before the output ended:\n{stderr}")
