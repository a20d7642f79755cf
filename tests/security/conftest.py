"""Security tests reuse the infra colleague's Pulumi mock harness (tests/infra/infra_harness.py)
rather than copying it: put it, the program and the policy pack on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
for _path in (_REPO / "tests" / "infra", _REPO / "infra", _REPO / "policy"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
