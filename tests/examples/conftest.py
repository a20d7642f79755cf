"""Make the sample app importable as ``app`` (it lives in examples/chat-app, not a package)."""

from __future__ import annotations

import sys
from pathlib import Path

CHAT_APP = Path(__file__).resolve().parents[2] / "examples" / "chat-app"
if str(CHAT_APP) not in sys.path:
    sys.path.insert(0, str(CHAT_APP))
