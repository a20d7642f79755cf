"""Run the sample app (``examples/chat-app``) under uvicorn in a child process, as in production.

A separate process keeps the SDK's global telemetry state (and its exporter threads) out of the
demo process, and stopping it with SIGTERM exercises the app's real shutdown path: the FastAPI
lifespan calls ``llm_insights.shutdown()``, which flushes the last spans and metrics.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from ..errors import KitError
from ..paths import CHAT_APP_DIR


def free_port() -> int:
    """A free loopback TCP port (bound and released; fine for a local demo)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AppProcess:
    """``uvicorn app.main:create_app --factory`` on a free loopback port; logs to ``log_path``."""

    def __init__(self, env: Mapping[str, str], log_path: Path, app_dir: Path = CHAT_APP_DIR):
        if not (app_dir / "app" / "main.py").is_file():
            raise KitError(str(app_dir), "the sample app is missing (expected app/main.py)")
        self.app_dir = app_dir
        self.env = dict(env)
        self.log_path = log_path
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> AppProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        cmd = [
            sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log",
            "--log-level", "warning",
        ]  # fmt: skip
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(
            cmd, cwd=self.app_dir, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise KitError(
                    "examples/chat-app",
                    f"the app exited with code {self._proc.returncode} at startup; "
                    f"see {self.log_path}:\n{self.log_tail()}",
                )
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise KitError(
            "examples/chat-app", f"not healthy after {timeout:.0f}s; see {self.log_path}"
        )

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (graceful: the lifespan flushes telemetry), then kill after ``timeout``."""
        proc, self._proc = self._proc, None
        code = None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            code = proc.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> AppProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
