"""Each peer instrumentation in an environment of its own, made by the bench on first run.

The current official instrumentation (``opentelemetry-instrumentation-genai-openai``) needs an
``opentelemetry-util-genai`` that conflicts with the one openai-v2 was released against, so no
single environment holds every peer at its current release. Each peer is installed with
``pip install --no-deps --target build/bench-peers/<name>`` (the pins below: the peer and the
GenAI helpers it needs that differ per peer); its benchmark processes put that directory first
on ``PYTHONPATH``, over the project's venv, which supplies everything else (OpenTelemetry API and
SDK, the exporter, openai). A directory is reinstalled when its pins change (a stamp file keeps
them). ``build/`` is not committed; ``make clean`` removes it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "build" / "bench-peers"

#: The current release of each peer (PyPI, checked 2026-12-03), with the helpers it imports
#: whose versions differ between peers.
PINS: dict[str, tuple[str, ...]] = {
    "genai_openai": (
        "opentelemetry-instrumentation-genai-openai==1.3b0",
        "opentelemetry-util-genai==1.3b0",
    ),
    "openai_v2": (
        "opentelemetry-instrumentation-openai-v2==2.4b0",
        "opentelemetry-util-genai==1.1b0",
    ),
    "traceloop": (
        "opentelemetry-instrumentation-openai==0.62.4",
        "opentelemetry-semantic-conventions-ai==0.5.1",
    ),
}


def path(name: str) -> Path:
    return ROOT / name


def ensure(name: str) -> Path:
    """The peer's directory, installed first if missing or pinned differently."""
    target = path(name)
    stamp = target / ".installed"
    want = "\n".join(PINS[name]) + "\n"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == want:
        return target
    print(f"bench: installing peer {name} into {target}", file=sys.stderr, flush=True)
    subprocess.run(["rm", "-rf", str(target)], check=True)
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--target", str(target), *PINS[name],
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"installing the bench peer {name} ({', '.join(PINS[name])}) failed "
            f"(exit {proc.returncode}):\n{proc.stderr[-2000:]}"
        )
    stamp.write_text(want, encoding="utf-8")
    return target


def env(name: str | None) -> dict[str, str] | None:
    """The environment of a benchmark process running with peer *name* (None: unchanged)."""
    if name is None:
        return None
    out = dict(os.environ)
    rest = out.get("PYTHONPATH", "")
    out["PYTHONPATH"] = str(ensure(name)) + (os.pathsep + rest if rest else "")
    return out


def versions() -> list[str]:
    """``name version`` of every package installed in the peer directories."""
    from importlib import metadata

    found: set[str] = set()
    for name in PINS:
        target = path(name)
        if target.is_dir():
            found.update(
                f"{d.metadata['Name']} {d.version}"
                for d in metadata.distributions(path=[str(target)])
            )
    return sorted(found)
