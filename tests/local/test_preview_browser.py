"""Open every generated preview page in headless Chromium and check every panel rendered.

Needs Debian's ``chromium`` (``make browser`` installs it); skipped with the reason otherwise.
Flags for running as root (``--no-sandbox``), with none of Chromium's own network traffic
(background networking, component updates, sync) and a fresh profile.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium, or `make browser`)")
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


class _Panels(HTMLParser):
    """Each panel's state and what it drew, from the DOM Chromium serialized.

    Panels are not nested and nothing drawable sits between them, so an element belongs to the
    last panel opened before it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.panels: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        klass = attributes.get("class") or ""
        if tag == "article" and "data-panel-state" in attributes:
            state = attributes["data-panel-state"]
            self.panels.append(
                {"step": attributes.get("data-step"), "state": state, "drawn": set()}
            )
        elif not self.panels:
            return
        elif tag == "polyline" or (tag == "rect" and "bar" in klass):
            self.panels[-1]["drawn"].add("chart")
        elif tag == "td":
            self.panels[-1]["drawn"].add("table")
        elif tag == "div" and klass == "tile":
            self.panels[-1]["drawn"].add("tiles")


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


@pytest.mark.slow  # ~8 s: headless Chromium
def test_every_preview_page_renders_every_panel_with_data(stack_previews, tmp_path) -> None:
    pages = list(stack_previews.pages.items())
    assert pages
    for key, page in pages:
        result = _chromium(tmp_path, "--dump-dom", page.as_uri())
        assert result.returncode == 0, result.stderr[-2000:]
        parser = _Panels()
        parser.feed(result.stdout)
        expected = stack_previews.runs[[r.key for r in stack_previews.runs].index(key)].panels()
        assert len(parser.panels) == len(expected), f"{key}: panels missing from the DOM"
        for panel in parser.panels:
            assert panel["state"] == "ok", f"{key}/{panel['step']} is {panel['state']}"
            assert panel["drawn"], f"{key}/{panel['step']} shows no chart, table or tile"
    shot = tmp_path / "overview.png"
    first = stack_previews.pages.get("llm-overview", pages[0][1])
    result = _chromium(tmp_path, "--window-size=1280,2000", f"--screenshot={shot}", first.as_uri())
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    assert _png_size(shot) == (1280, 2000)
    assert shot.stat().st_size > 50_000  # charts and text, not a blank page


def test_index_page_links_every_workbook(stack_previews, tmp_path) -> None:
    result = _chromium(tmp_path, "--dump-dom", stack_previews.index.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    for key in stack_previews.pages:
        assert f'href="{key}.html"' in result.stdout
