"""The SDK's shipped price file is exactly what the pinned genai-prices gives."""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

from llm_insights_kit import paths, prices
from llm_insights_kit.cli import main

ROOT = Path(__file__).resolve().parents[2]


def pinned_version() -> str:
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    [version] = re.findall(r"^genai-prices==(\S+)$", lock, re.M)
    return version


def test_the_installed_source_is_the_pinned_one():
    assert importlib.metadata.version(prices.SOURCE) == pinned_version()


def test_shipped_file_equals_the_pinned_source():
    shipped = json.loads(paths.SHIPPED_PRICES_FILE.read_text(encoding="utf-8"))
    assert shipped["source"] == {"name": "genai-prices", "version": pinned_version()}
    assert shipped == prices.build()
    assert not prices.differs()


def test_check_command_fails_on_a_changed_file(tmp_path, capsys):
    path = tmp_path / "_prices.json"
    assert main(["prices", "--out", str(path)]) == 0
    assert main(["prices", "--check", "--out", str(path)]) == 0
    data = json.loads(path.read_text())
    data["providers"]["openai"]["models"][0]["prices"][0]["input"] += 1
    path.write_text(prices.render(data))
    assert main(["prices", "--check", "--out", str(path)]) == 2
    assert "differs from genai-prices" in capsys.readouterr().err
